"""Reading payments and open items: what is left open on an item, what a payment has not
allocated (the account's credit). Every figure is a sum computed when asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import BigInteger, ColumnElement, any_, case, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from billing.payments.enums import PaymentStatus
from billing.payments.models import Payment, PaymentAllocation, PrepaidVend, ReceivableItem
from core.context import Actor
from core.territory import visible
from customers.models import Account


def _among(column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column = ANY(ids)`` with the ids as one array parameter: a chunk's thousands of
    accounts as an IN list cost SQLAlchemy a bind parameter each to compile."""
    return column == any_(literal(list(ids), ARRAY(BigInteger)))


@dataclass(frozen=True)
class OpenItem:
    """An item with something left to pay."""

    id: int
    kind: str
    due_date: date
    currency: str
    open_amount: int


@dataclass(frozen=True)
class Credit:
    """A payment with something left to allocate."""

    id: int
    currency: str
    remaining: int


def _allocated_to_items(  # type: ignore[no-untyped-def]
    account_ids: Sequence[int] | None = None, item_ids: Sequence[int] | None = None
):
    """Active allocations summed per item (of ``account_ids`` / ``item_ids`` only, when
    given: the planner cannot push an outer filter into a grouped subquery, and without
    one it sums every allocation ever made)."""
    query = select(
        PaymentAllocation.item_id, func.sum(PaymentAllocation.amount).label("paid")
    ).where(PaymentAllocation.released_at.is_(None))
    if account_ids is not None:
        query = query.where(_among(PaymentAllocation.customer_account_id, account_ids))
    if item_ids is not None:
        query = query.where(PaymentAllocation.item_id.in_(item_ids))
    return query.group_by(PaymentAllocation.item_id).subquery()


def _allocated_from_payments(  # type: ignore[no-untyped-def]
    account_ids: Sequence[int] | None = None, payment_ids: Sequence[int] | None = None
):
    """Active allocations summed per payment (filtered as ``_allocated_to_items``)."""
    query = select(
        PaymentAllocation.payment_id, func.sum(PaymentAllocation.amount).label("used")
    ).where(PaymentAllocation.released_at.is_(None))
    if account_ids is not None:
        query = query.where(_among(PaymentAllocation.customer_account_id, account_ids))
    if payment_ids is not None:
        query = query.where(PaymentAllocation.payment_id.in_(payment_ids))
    return query.group_by(PaymentAllocation.payment_id).subquery()


def open_items(session: Session, customer_account_id: int) -> list[OpenItem]:
    """The account's items with something left to pay, by due date."""
    return open_items_by_account(session, [customer_account_id]).get(customer_account_id, [])


def credits(session: Session, customer_account_id: int) -> list[Credit]:
    """Posted payments with something left, oldest first (the order credit is used in)."""
    return credits_by_account(session, [customer_account_id]).get(customer_account_id, [])


def unallocated(session: Session, payment_ids: Sequence[int]) -> dict[int, int]:
    """What each payment has left to allocate (reversed payments: 0)."""
    if not payment_ids:
        return {}
    used = _allocated_from_payments(payment_ids=payment_ids)
    rows = session.execute(
        select(
            Payment.id,
            Payment.status,
            Payment.amount - func.coalesce(used.c.used, 0),
        )
        .outerjoin(used, used.c.payment_id == Payment.id)
        .where(Payment.id.in_(payment_ids))
    )
    return {i: (int(a) if s == PaymentStatus.POSTED.value else 0) for i, s, a in rows}


def open_amounts(session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    paid = _allocated_to_items(item_ids=item_ids)
    left = ReceivableItem.amount - func.coalesce(paid.c.paid, 0)
    open_or_zero = case((ReceivableItem.closed_at.is_(None), left), else_=0)
    rows = session.execute(
        select(ReceivableItem.id, open_or_zero)
        .outerjoin(paid, paid.c.item_id == ReceivableItem.id)
        .where(ReceivableItem.id.in_(item_ids))
    )
    return {i: int(a) for i, a in rows}


def account_seen(session: Session, actor: Actor, customer_account_id: int) -> bool:
    found = session.scalar(
        select(Account.id).where(Account.id == customer_account_id, visible(actor, Account))
    )
    return found is not None


def payment_seen(session: Session, actor: Actor, payment_id: int) -> Payment | None:
    return session.scalars(
        select(Payment).where(Payment.id == payment_id, visible(actor, Payment))
    ).one_or_none()


def payments_of(
    session: Session, actor: Actor, customer_account_id: int, *, limit: int, offset: int
) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.customer_account_id == customer_account_id, visible(actor, Payment))
            .order_by(Payment.received_at.desc(), Payment.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def vends_of_account(
    session: Session, actor: Actor, customer_account_id: int, *, limit: int
) -> list[PrepaidVend]:
    """An account's prepaid purchases (every meter it pays for), newest first."""
    return list(
        session.scalars(
            select(PrepaidVend)
            .where(
                PrepaidVend.customer_account_id == customer_account_id,
                visible(actor, PrepaidVend),
            )
            .order_by(PrepaidVend.vended_at.desc(), PrepaidVend.id.desc())
            .limit(limit)
        )
    )


def items_of(session: Session, customer_account_id: int) -> list[ReceivableItem]:
    return list(
        session.scalars(
            select(ReceivableItem)
            .where(ReceivableItem.customer_account_id == customer_account_id)
            .order_by(ReceivableItem.due_date, ReceivableItem.id)
        )
    )


def allocations_of(session: Session, payment_id: int) -> list[PaymentAllocation]:
    return list(
        session.scalars(
            select(PaymentAllocation)
            .where(PaymentAllocation.payment_id == payment_id)
            .order_by(PaymentAllocation.id)
        )
    )


def open_items_by_account(
    session: Session, account_ids: Sequence[int]
) -> dict[int, list[OpenItem]]:
    """``open_items`` of many accounts in one query (the batched posting)."""
    paid = _allocated_to_items(account_ids)
    left = ReceivableItem.amount - func.coalesce(paid.c.paid, 0)
    rows = session.execute(
        select(
            ReceivableItem.customer_account_id,
            ReceivableItem.id,
            ReceivableItem.kind,
            ReceivableItem.due_date,
            ReceivableItem.currency,
            left,
        )
        .outerjoin(paid, paid.c.item_id == ReceivableItem.id)
        .where(
            _among(ReceivableItem.customer_account_id, account_ids),
            ReceivableItem.closed_at.is_(None),
            left > 0,
        )
        .order_by(ReceivableItem.due_date, ReceivableItem.id)
    )
    result: dict[int, list[OpenItem]] = {}
    for account, i, k, d, c, a in rows:
        result.setdefault(account, []).append(OpenItem(i, k, d, c, int(a)))
    return result


def credits_by_account(session: Session, account_ids: Sequence[int]) -> dict[int, list[Credit]]:
    """``credits`` of many accounts in one query, oldest payment first."""
    used = _allocated_from_payments(account_ids)
    left = Payment.amount - func.coalesce(used.c.used, 0)
    rows = session.execute(
        select(Payment.customer_account_id, Payment.id, Payment.currency, left)
        .outerjoin(used, used.c.payment_id == Payment.id)
        .where(
            _among(Payment.customer_account_id, account_ids),
            Payment.status == PaymentStatus.POSTED.value,
            left > 0,
        )
        .order_by(Payment.received_at, Payment.id)
    )
    result: dict[int, list[Credit]] = {}
    for account, i, c, a in rows:
        result.setdefault(account, []).append(Credit(i, c, int(a)))
    return result


def bounces(session: Session, customer_account_id: int) -> int:
    """How many cheques of the account bounced."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(
                Payment.customer_account_id == customer_account_id,
                Payment.bounced_at.is_not(None),
            )
        )
        or 0
    )
