"""Payment plans (moratoires): agreed over open items, kept in good standing by paying
each instalment, broken by an instalment still unpaid ``grace_days`` after its due date.

A plan's interest (optional) is simple, on the amount financed after the down payment,
from the agreement to the last instalment, ACT/365, rounded half up; it is charged at once
as an interest item covered by the plan. Instalments are equal, the last one taking the
rounding remainder. Paid so far = what the covered items have been paid since (their
amount less what is open).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from statemachine import State, StateMachine

from billing.collections import engine
from billing.collections.charges import interest_amount
from billing.collections.enums import PlanStatus
from billing.collections.errors import (
    PaymentPlanConflictError,
    PaymentPlanInvalidError,
    PaymentPlanNotFoundError,
)
from billing.collections.models import PaymentPlan, PaymentPlanInstalment, PaymentPlanTransition
from billing.payments import repository as payments_repository
from billing.payments import service as payments
from billing.payments.enums import ItemKind
from billing.payments.models import ReceivableItem
from billing.payments.schemas import ReceivableItemCreate
from core.context import Actor
from core.lifecycle import Lifecycle
from core.periods import add_months


class PlanLifecycle(StateMachine):
    """active -> completed (all paid) | broken (an instalment missed) | cancelled."""

    active = State(initial=True, value="active")
    completed = State(final=True, value="completed")
    broken = State(final=True, value="broken")
    cancelled = State(final=True, value="cancelled")

    complete = active.to(completed)
    miss = active.to(broken)
    cancel = active.to(cancelled)


PLAN = Lifecycle(
    machine=PlanLifecycle,
    history=PaymentPlanTransition,
    subject_key="plan_id",
    error=PaymentPlanConflictError,
    noun="payment plan",
)


def monthly(first: date, n: int) -> date:
    """``first`` moved ``n`` months on, the day kept (or the month's last day)."""
    month = add_months(first.replace(day=1), n)
    return month.replace(day=min(first.day, monthrange(month.year, month.month)[1]))


def schedule(total: int, count: int, first: date) -> list[tuple[date, int]]:
    """``count`` monthly instalments from ``first`` summing to ``total`` (equal, the last
    one taking the remainder)."""
    each = total // count
    amounts = [each] * (count - 1) + [total - each * (count - 1)]
    return [(monthly(first, n), amount) for n, amount in enumerate(amounts)]


def create_plan(
    session: Session,
    actor: Actor,
    *,
    customer_account_id: int,
    item_ids: Sequence[int],
    down_payment: int,
    instalments: int,
    first_due_date: date,
    agreed_on: date,
    interest_rate: Decimal = Decimal(0),
    grace_days: int = 0,
) -> PaymentPlan:
    """Agree a plan over ``item_ids`` (open items of the account): the down payment is due
    on agreement, then ``instalments`` monthly from ``first_due_date``."""
    payments.require_account(session, actor, customer_account_id)
    if instalments < 1 or down_payment < 0 or grace_days < 0:
        raise PaymentPlanInvalidError("instalments >= 1, down payment and grace >= 0")
    if first_due_date <= agreed_on:
        raise PaymentPlanInvalidError("the first instalment falls after the agreement")
    items = session.scalars(
        select(ReceivableItem).where(ReceivableItem.id.in_(list(item_ids)))
    ).all()
    if not items or len(items) != len(set(item_ids)):
        raise PaymentPlanInvalidError("a plan covers one or more open items of the account")
    if any(i.customer_account_id != customer_account_id or i.closed_at for i in items):
        raise PaymentPlanInvalidError("an item is not an open item of this account")
    open_now = payments_repository.open_amounts(session, [i.id for i in items])
    principal = sum(open_now.values())
    if principal <= 0:
        raise PaymentPlanInvalidError("nothing is open on these items")
    if down_payment >= principal:
        raise PaymentPlanInvalidError("the down payment pays it all: no plan needed")
    active = session.scalars(
        select(PaymentPlan).where(
            PaymentPlan.customer_account_id == customer_account_id,
            PaymentPlan.status == PlanStatus.ACTIVE.value,
        )
    ).first()
    if active is not None:
        raise PaymentPlanConflictError(f"the account already has plan {active.id} running")
    plan_dates = schedule(1, instalments, first_due_date)  # the dates only
    financed = principal - down_payment
    interest = interest_amount(financed, interest_rate, (plan_dates[-1][0] - agreed_on).days)
    plan = PaymentPlan(
        customer_account_id=customer_account_id,
        status=PlanStatus.ACTIVE.value,
        item_ids=[i.id for i in items],
        principal=principal,
        interest=interest,
        down_payment=down_payment,
        agreed_on=agreed_on,
        grace_days=grace_days,
        created_by=actor.user_id,
    )
    session.add(plan)
    session.flush()
    if interest > 0:
        item = payments.charge(
            session,
            actor,
            data=ReceivableItemCreate(
                customer_account_id=customer_account_id,
                kind=ItemKind.INTEREST,
                document_ref=f"PLAN-{plan.id}",
                due_date=agreed_on,
                amount=interest,
                memo=f"interest of payment plan {plan.id}",
            ),
        )
        plan.interest_item_id = item.id
    rows = [(agreed_on, down_payment)] if down_payment else []
    rows += schedule(financed + interest, instalments, first_due_date)
    session.add_all(
        PaymentPlanInstalment(
            plan_id=plan.id,
            customer_account_id=customer_account_id,
            sequence=n if down_payment else n + 1,
            due_date=due,
            amount=amount,
        )
        for n, (due, amount) in enumerate(rows)
    )
    PLAN.record(session, actor, plan, "agree", None, plan.status, reason="plan agreed")
    session.flush()
    engine.recompute(
        session, on=agreed_on, reason=f"plan {plan.id} agreed", account_ids=[customer_account_id]
    )
    return plan


def paid_so_far(session: Session, plan: PaymentPlan) -> tuple[int, int]:
    """(paid on the plan's items since agreement, still open on them)."""
    ids = list(plan.item_ids) + ([plan.interest_item_id] if plan.interest_item_id else [])
    open_now = sum(payments_repository.open_amounts(session, ids).values())
    return plan.principal + plan.interest - open_now, open_now


def check_plans(
    session: Session, actor: Actor, *, on: date, account_ids: Sequence[int] | None = None
) -> list[tuple[int, str]]:
    """Complete the plans paid in full, break those with an instalment unpaid past its
    grace; (plan id, new status) for each one moved. The accounts' files follow."""
    query = select(PaymentPlan).where(PaymentPlan.status == PlanStatus.ACTIVE.value)
    if account_ids is not None:
        query = query.where(PaymentPlan.customer_account_id.in_(list(account_ids)))
    moved = []
    for plan in session.scalars(query.order_by(PaymentPlan.id)).all():
        paid, open_now = paid_so_far(session, plan)
        if open_now == 0:
            PLAN.step(session, actor, plan, "complete", reason="every instalment paid")
            moved.append((plan.id, plan.status))
            continue
        owed = sum(
            i.amount
            for i in session.scalars(
                select(PaymentPlanInstalment).where(PaymentPlanInstalment.plan_id == plan.id)
            )
            if (on - i.due_date).days > plan.grace_days
        )
        if paid < owed:
            PLAN.step(
                session,
                actor,
                plan,
                "miss",
                reason=f"{owed - paid} of the instalments due was unpaid on {on.isoformat()}",
            )
            moved.append((plan.id, plan.status))
    session.flush()
    if moved:
        accounts = sorted(
            {
                p.customer_account_id
                for p in session.scalars(
                    select(PaymentPlan).where(PaymentPlan.id.in_([m[0] for m in moved]))
                )
            }
        )
        engine.recompute(session, on=on, reason="payment plan ended", account_ids=accounts)
    return moved


def get_plan(session: Session, actor: Actor, plan_id: int) -> PaymentPlan:
    """A plan, if its account is in the caller's territory (else not found)."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is None or not payments_repository.account_seen(
        session, actor, plan.customer_account_id
    ):
        raise PaymentPlanNotFoundError(f"no payment plan {plan_id}")
    return plan
