"""Editing a dunning policy: its scope, interest and steps. The files that the change can
move (those on the policy, or every file when the policy's scope or activity changed, since
another policy may now be the most specific) are recomputed at once, so that the next
step's day shown to collectors is the new one."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from billing.collections import engine, repository
from billing.collections.errors import CollectionPolicyInvalidError
from billing.collections.models import CollectionAction, CollectionPolicy, CollectionStep
from billing.collections.schemas import PolicyUpdate
from core.auth.models import Agency
from core.context import Actor
from core.errors import ReferenceUnknownError
from core.periods import local_date


def update_policy(
    session: Session,
    actor: Actor,
    policy: CollectionPolicy,
    *,
    data: PolicyUpdate,
    on: date | None = None,
) -> CollectionPolicy:
    """Apply ``data`` to ``policy``: steps 1..n take the given values in order; steps past
    n are removed, refused when one was already done on an account (its history keeps
    pointing at it). Returns the policy, its files recomputed as of ``on`` (default today)."""
    if data.agency_id is not None and session.get(Agency, data.agency_id) is None:
        raise ReferenceUnknownError(f"no agency {data.agency_id}")
    scope_before = (policy.category, policy.agency_id, policy.active)
    steps = {s.position: s for s in repository.steps_of(session, policy.id)}
    dropped = [s.id for p, s in steps.items() if p > len(data.steps)]
    if dropped:
        done = session.scalar(
            select(CollectionAction.position)
            .where(CollectionAction.step_id.in_(dropped))
            .order_by(CollectionAction.position)
            .limit(1)
        )
        if done is not None:
            raise CollectionPolicyInvalidError(
                f"step {done} was already done on accounts: it can be changed, not removed"
            )
        session.execute(delete(CollectionStep).where(CollectionStep.id.in_(dropped)))
    for position, step in enumerate(data.steps, start=1):
        row = steps.get(position)
        if row is None:
            row = CollectionStep(policy_id=policy.id, position=position)
            session.add(row)
        row.code = step.code
        row.delay = step.delay
        row.delay_unit = step.delay_unit.value
        row.min_amount = step.min_amount
        row.channel = step.channel.value
        row.fee = step.fee
        row.action = step.action.value
    policy.name = data.name
    policy.category = data.category
    policy.agency_id = data.agency_id
    policy.interest_rate = data.interest_rate
    policy.interest_day_count = data.interest_day_count
    policy.active = data.active
    session.flush()
    on = on or local_date(datetime.now(UTC))
    reason = f"policy {policy.code} edited"
    if scope_before != (policy.category, policy.agency_id, policy.active):
        engine.recompute(session, on=on, reason=reason)
    else:
        accounts = [
            int(a)
            for (a,) in session.execute(
                text("SELECT customer_account_id FROM collection_file WHERE policy_id = :p"),
                {"p": policy.id},
            )
        ]
        if accounts:
            engine.recompute(session, on=on, reason=reason, account_ids=accounts)
    return policy
