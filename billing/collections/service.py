"""Collections: policies, holds, the account's file, the night's run and the reactions
to payments. Services flush, never commit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.collections import charges, engine, plans, repository, views, write_offs
from billing.collections.enums import StepAction
from billing.collections.errors import (
    CollectionAccountNotFoundError,
    CollectionPolicyInvalidError,
    CollectionPolicyNotFoundError,
)
from billing.collections.events import CollectionVisitRequested, CutEligibilityGranted
from billing.collections.models import (
    CollectionFile,
    CollectionHold,
    CollectionPolicy,
    CollectionStep,
)
from billing.collections.schemas import (
    ActionRead,
    FileRead,
    HoldCreate,
    HoldRead,
    InstalmentRead,
    NightReport,
    PlanRead,
    PlanView,
    PolicyCreate,
    PolicyRead,
    StepRead,
    TimelineEvent,
)
from billing.payments import repository as payments_repository
from billing.payments.models import Payment
from core.context import Actor
from core.errors import ReferenceUnknownError
from core.flush import by_constraint, flush_guarded
from core.outbox import emit_many
from core.periods import local_date
from core.settings import get_settings
from customers.models import Account


def today() -> date:
    return local_date(datetime.now(UTC))


_POLICY_DUPLICATE = by_constraint(
    {"uq_collection_policy_code": lambda: CollectionPolicyInvalidError("this code is taken")}
)


def create_policy(session: Session, actor: Actor, *, data: PolicyCreate) -> CollectionPolicy:
    """A policy and its ordered steps (positions 1, 2, ... in the order given)."""
    policy = CollectionPolicy(
        code=data.code,
        name=data.name,
        category=data.category,
        agency_id=data.agency_id,
        interest_rate=data.interest_rate,
        interest_day_count=data.interest_day_count,
    )
    if actor.company_id is not None:
        policy.company_id = actor.company_id  # the rules of the author's company
    flush_guarded(session, _POLICY_DUPLICATE, lambda: session.add(policy))
    session.add_all(
        CollectionStep(
            policy_id=policy.id,
            position=n,
            code=step.code,
            delay=step.delay,
            delay_unit=step.delay_unit.value,
            min_amount=step.min_amount,
            channel=step.channel.value,
            fee=step.fee,
            action=step.action.value,
        )
        for n, step in enumerate(data.steps, start=1)
    )
    session.flush()
    return policy


def policy_read(session: Session, policy: CollectionPolicy) -> PolicyRead:
    read = PolicyRead.model_validate(policy)
    read.steps = [StepRead.model_validate(s) for s in repository.steps_of(session, policy.id)]
    return read


def get_policy(session: Session, policy_id: int) -> CollectionPolicy:
    policy = session.get(CollectionPolicy, policy_id)
    if policy is None:
        raise CollectionPolicyNotFoundError(f"no collection policy {policy_id}")
    return policy


def add_hold(session: Session, actor: Actor, *, data: HoldCreate) -> CollectionHold:
    account_id = data.customer_account_id
    if account_id is not None and not payments_repository.account_seen(session, actor, account_id):
        raise ReferenceUnknownError(f"no customer account {account_id}")
    hold = CollectionHold(
        customer_account_id=data.customer_account_id,
        kind=data.kind.value,
        rule=data.rule.value,
        blocks=list(data.blocks),
        start_date=data.start_date,
        end_date=data.end_date,
        reason=data.reason,
        created_by=actor.user_id,
    )
    session.add(hold)
    session.flush()
    return hold


def run_night(session: Session, actor: Actor, *, on: date, full: bool = False) -> NightReport:
    """The nightly job: plans checked, the files of accounts whose bills fell overdue in the
    last nights recomputed (``full``: every file), interest charged
    on the month's last day, then the steps whose day has come fired (set-based), their
    fees charged, litigation opened, and one event per newly cut-eligible account. The
    notices go after commit (``notices.send_pending``)."""
    moved = plans.check_plans(session, actor, on=on)
    if full:
        recomputed = engine.recompute(session, on=on, reason=f"nightly {on.isoformat()}")
    else:
        recomputed = engine.recompute_newly_overdue(session, on=on)
    interest = 0
    if (on + timedelta(days=1)).day == 1:  # interest is charged monthly, on the last day
        interest = charges.charge_interest(session, actor, on=on)
    fired = engine.advance(session, on=on)
    fees = charges.charge_staged_fees(session, actor, on=on) if fired else 0
    cut = litigation = 0
    if fired:
        cut, litigation = _after_steps(session, actor, on=on)
    session.flush()
    return NightReport(
        on=on,
        recomputed=recomputed,
        plans_moved=len(moved),
        interest_items=interest,
        steps_fired=fired,
        fees=fees,
        cut_eligible=cut,
        litigation=litigation,
    )


def _after_steps(session: Session, actor: Actor, *, on: date) -> tuple[int, int]:
    """What the night's staged steps set off besides fees: one event per newly
    cut-eligible account and per field visit (one multi-row INSERT each), litigation opened
    for the accounts handed over (few a night: one by one, with their documents). Returns
    (cut eligible, litigation)."""
    currency = get_settings().currency
    fired = engine.fired_steps(session)
    cut_events = [
        CutEligibilityGranted(
            customer_account_id=s.customer_account_id,
            amount_due=s.amount_due,
            currency=currency,
            on=on,
        )
        for s in fired
        if s.action == StepAction.CUT_ELIGIBLE.value
    ]
    visits = [
        CollectionVisitRequested(
            customer_account_id=s.customer_account_id,
            action_id=s.action_id,
            amount_due=s.amount_due,
            currency=currency,
            on=on,
        )
        for s in fired
        if s.channel == "field_visit"
    ]
    handed = [s for s in fired if s.action == StepAction.LITIGATION.value]
    for step in handed:
        write_offs.open_litigation(
            session, actor, customer_account_id=step.customer_account_id, on=on
        )
    emit_many(session, [*cut_events, *visits])
    return len(cut_events), len(handed)


def on_payment(session: Session, actor: Actor, payment: Payment, *, reason: str) -> None:
    """A payment or its reversal moved the account: recover written-off debt, settle its
    plan, recompute its file at once (with the reason)."""
    on = max(payment.value_date, today()) if payment.status == "reversed" else payment.value_date
    if payment.status == "posted":
        write_offs.recover(session, actor, payment)
    else:
        write_offs.unrecover(session, actor, payment, on)
    plans.check_plans(session, actor, on=on, account_ids=[payment.customer_account_id])
    engine.recompute(session, on=on, reason=reason, account_ids=[payment.customer_account_id])


def file_of(session: Session, actor: Actor, customer_account_id: int) -> FileRead:
    """An account's collection file (steps done, next step, holds, plan)."""
    account = session.get(Account, customer_account_id)
    if account is None or not payments_repository.account_seen(session, actor, customer_account_id):
        raise CollectionAccountNotFoundError(f"no customer account {customer_account_id}")
    file = session.get(CollectionFile, customer_account_id)
    policy = session.get(CollectionPolicy, file.policy_id) if file and file.policy_id else None
    plan = repository.latest_plan(session, customer_account_id)
    plan_read = None
    if plan is not None:
        plan_read = PlanRead.model_validate(plan)
        plan_read.instalments = [
            InstalmentRead.model_validate(i) for i in repository.instalments(session, plan.id)
        ]
    next_step = (
        repository.step_at(session, file.policy_id, file.step_position + 1) if file else None
    )
    return FileRead(
        customer_account_id=customer_account_id,
        account_number=account.number,
        status=file.status if file else "current",
        policy_code=policy.code if policy else None,
        overdue_amount=file.overdue_amount if file else 0,
        unpaid_bills=file.unpaid_bills if file else 0,
        oldest_due_date=file.oldest_due_date if file else None,
        step_position=file.step_position if file else 0,
        next_step=StepRead.model_validate(next_step) if next_step else None,
        next_step_date=file.next_step_date if file else None,
        cut_eligible_since=file.cut_eligible_since if file else None,
        reason=file.reason if file else "",
        actions=[
            ActionRead.model_validate(a)
            for a in repository.actions_of(session, customer_account_id)
        ],
        holds=[
            HoldRead.model_validate(h) for h in repository.holds_of(session, customer_account_id)
        ],
        plan=plan_read,
    )


def payment(session: Session, payment_id: int) -> Payment | None:
    return session.scalars(select(Payment).where(Payment.id == payment_id)).first()


def plan_view(session: Session, actor: Actor, plan_id: int) -> PlanView:
    """A plan with its instalments, account and what was paid on it (in the territory)."""
    plan = plans.get_plan(session, actor, plan_id)
    account = session.get(Account, plan.customer_account_id)
    paid, due = plans.paid_so_far(session, plan)
    view = PlanView.model_validate(
        {
            **PlanRead.model_validate(plan).model_dump(),
            "account_number": account.number if account else "",
            "paid": paid,
            "due": due,
        }
    )
    view.instalments = [
        InstalmentRead.model_validate(i) for i in repository.instalments(session, plan.id)
    ]
    return view


def timeline_of(session: Session, actor: Actor, customer_account_id: int) -> list[TimelineEvent]:
    """An account's collection history, oldest first (in the territory, else not found)."""
    if not payments_repository.account_seen(session, actor, customer_account_id):
        raise CollectionAccountNotFoundError(f"no customer account {customer_account_id}")
    return [TimelineEvent.model_validate(e) for e in views.timeline(session, customer_account_id)]
