"""One allocator for every channel: which open items a customer account's payments pay.

The policy orders the open items (by default fees, then interest, then principal, and
within a kind the oldest due first) and the payments are spent oldest first. What a payment
cannot spend stays the account's credit and pays the next item that opens. The back office
may release a payment's allocations and allocate it again (by the policy, or to the items it
names); every release states a reason, recorded by the audit trail.

A customer account is allocated by one transaction at a time (``LockSpace.PAYMENT_ALLOCATION``),
so two payments arriving together never spend the same open amount twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.payments import repository
from billing.payments.enums import ItemKind, PaymentStatus
from billing.payments.errors import AllocationInvalidError, PaymentReversedError
from billing.payments.models import Payment, PaymentAllocation, ReceivableItem
from billing.payments.open_items import sync_invoices
from billing.payments.repository import Credit, OpenItem
from core.bulk import copy_columns, text_values
from core.context import Actor
from core.db import state_reason
from core.locks import LockSpace, int32_key, xact_lock, xact_locks


@dataclass(frozen=True)
class AllocationPolicy:
    """The order open items are paid in. ``kinds_first``: every item of the first kind
    (oldest first) before any of the next; otherwise the oldest item first whatever its
    kind, the kind order breaking ties on the same due date. ``oldest_first=False`` pays the
    most recent first (a utility that keeps old arrears for a payment plan)."""

    kind_order: tuple[ItemKind, ...] = (ItemKind.FEE, ItemKind.INTEREST, ItemKind.PRINCIPAL)
    kinds_first: bool = True
    oldest_first: bool = True

    def ordered(self, items: Sequence[OpenItem]) -> list[OpenItem]:
        rank = {kind.value: n for n, kind in enumerate(self.kind_order)}
        sign = 1 if self.oldest_first else -1

        def key(item: OpenItem) -> tuple[int, int, int]:
            kind = rank.get(item.kind, len(rank))
            day = sign * item.due_date.toordinal()
            first, second = (kind, day) if self.kinds_first else (day, kind)
            return first, second, sign * item.id

        return sorted(items, key=key)


DEFAULT_POLICY = AllocationPolicy()


def lock_account(session: Session, customer_account_id: int) -> None:
    xact_lock(session, LockSpace.PAYMENT_ALLOCATION, int32_key(customer_account_id))


def plan(
    items: Sequence[OpenItem], credits: Sequence[Credit], policy: AllocationPolicy
) -> list[tuple[int, int, int]]:
    """(payment id, item id, amount) spending ``credits`` in order on the ordered items of
    the same currency. Pure: the tests and the batched posting use it directly."""
    result = []
    remaining = {c.id: c.remaining for c in credits}
    for item in policy.ordered(items):
        left = item.open_amount
        for credit in credits:
            if left == 0:
                break
            if credit.currency != item.currency or remaining[credit.id] == 0:
                continue
            amount = min(left, remaining[credit.id])
            remaining[credit.id] -= amount
            left -= amount
            result.append((credit.id, item.id, amount))
    return result


def allocate_account(
    session: Session,
    actor: Actor,
    customer_account_id: int,
    policy: AllocationPolicy = DEFAULT_POLICY,
    *,
    sync: bool = True,
) -> list[PaymentAllocation]:
    """Spend the account's credit (its payments' unallocated amounts) on its open items
    (first bringing the items of its bills up to date, unless the caller just did)."""
    lock_account(session, customer_account_id)
    if sync:
        sync_invoices(session, actor, [customer_account_id])
    items = repository.open_items(session, customer_account_id)
    if not items:
        return []
    credits = repository.credits(session, customer_account_id)
    rows = [
        PaymentAllocation(
            customer_account_id=customer_account_id,
            payment_id=payment_id,
            item_id=item_id,
            amount=amount,
            allocated_by=actor.user_id,
        )
        for payment_id, item_id, amount in plan(items, credits, policy)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def unallocate(session: Session, actor: Actor, payment: Payment, reason: str) -> int:
    """Release every active allocation of ``payment`` (audited with ``reason``); the
    payment's amount is credit again. Returns how many were released."""
    lock_account(session, payment.customer_account_id)
    state_reason(session, reason)
    result = session.execute(
        update(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment.id, PaymentAllocation.released_at.is_(None))
        .values(released_at=datetime.now(UTC), released_by=actor.user_id, release_reason=reason)
    )
    session.expire_all()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release_item(session: Session, actor: Actor, item: ReceivableItem, *, reason: str) -> int:
    """Close an item whose document is cancelled (a reversed vend) and release what paid
    it (audited with ``reason``): those payments are credit again."""
    lock_account(session, item.customer_account_id)
    state_reason(session, reason)
    item.closed_at = datetime.now(UTC)
    session.flush()
    result = session.execute(
        update(PaymentAllocation)
        .where(PaymentAllocation.item_id == item.id, PaymentAllocation.released_at.is_(None))
        .values(released_at=datetime.now(UTC), released_by=actor.user_id, release_reason=reason)
    )
    session.expire_all()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reallocate(
    session: Session,
    actor: Actor,
    payment: Payment,
    *,
    reason: str,
    targets: Sequence[tuple[int, int]] | None = None,
    policy: AllocationPolicy = DEFAULT_POLICY,
) -> list[PaymentAllocation]:
    """Release the payment's allocations and allocate it again: to ``targets`` ((item id,
    amount) pairs, the rest staying credit), or by the policy across the whole account."""
    if payment.status != PaymentStatus.POSTED.value:
        raise PaymentReversedError(f"payment {payment.number} is reversed: nothing to allocate")
    unallocate(session, actor, payment, reason)
    if targets is None:
        return allocate_account(session, actor, payment.customer_account_id, policy)
    wanted: dict[int, int] = {}
    for item_id, amount in targets:
        wanted[item_id] = wanted.get(item_id, 0) + amount
    items = {
        i.id: i
        for i in session.scalars(select(ReceivableItem).where(ReceivableItem.id.in_(wanted)))
    }
    open_now = repository.open_amounts(session, list(wanted))
    for item_id, amount in wanted.items():
        item = items.get(item_id)
        if item is None or item.customer_account_id != payment.customer_account_id:
            raise AllocationInvalidError(f"item {item_id} is not an open item of this account")
        if item.currency != payment.currency:
            raise AllocationInvalidError(f"item {item_id} is in {item.currency}")
        if amount > open_now[item_id]:
            raise AllocationInvalidError(
                f"item {item_id} has {open_now[item_id]} open, not {amount}"
            )
    left = repository.unallocated(session, [payment.id])[payment.id]
    if sum(wanted.values()) > left:
        raise AllocationInvalidError(f"the payment has {left} to allocate")
    rows = [
        PaymentAllocation(
            customer_account_id=payment.customer_account_id,
            payment_id=payment.id,
            item_id=item_id,
            amount=amount,
            allocated_by=actor.user_id,
        )
        for item_id, amount in wanted.items()
    ]
    session.add_all(rows)
    session.flush()
    return rows


def allocate_accounts(
    session: Session,
    actor: Actor,
    account_ids: list[int],
    policy: AllocationPolicy = DEFAULT_POLICY,
    *,
    sync: bool = True,
) -> int:
    """Allocate many accounts at once, set-based (their locks held by the caller): one
    query of open items, one of credits, the pure ``plan``, one COPY of allocations."""
    if sync:
        sync_invoices(session, actor, account_ids)
    # Credit first: only an account with some has anything to plan (after a billing run,
    # a few accounts of a chunk's thousands), so only theirs open items are read.
    credits = repository.credits_by_account(session, account_ids)
    if not credits:
        return 0
    items = repository.open_items_by_account(session, list(credits))
    if not items:
        return 0
    rows: dict[str, list[object]] = {
        k: [] for k in ("customer_account_id", "payment_id", "item_id", "amount", "allocated_by")
    }
    for account_id, open_now in items.items():
        for payment_id, item_id, amount in plan(open_now, credits.get(account_id, []), policy):
            for name, value in zip(
                rows, (account_id, payment_id, item_id, amount, actor.user_id), strict=True
            ):
                rows[name].append(value)
    if rows["item_id"]:
        copy_columns(
            session, "billing_payment_allocation", {k: text_values(v) for k, v in rows.items()}
        )
        session.expire_all()
    return len(rows["item_id"])


def settle(session: Session, actor: Actor, account_ids: Sequence[int] | None = None) -> int:
    """After a billing run or a credit note: bring the open items up to date and spend
    each changed account's credit on them, set-based (the accounts locked in id order, so
    two settlements never deadlock). Returns the number of accounts whose items changed."""
    if account_ids is not None:
        xact_locks(session, LockSpace.PAYMENT_ALLOCATION, sorted(set(account_ids)))
    changed = sync_invoices(session, actor, account_ids)
    if not changed:
        return 0
    if account_ids is None:
        xact_locks(session, LockSpace.PAYMENT_ALLOCATION, sorted(changed))
    allocate_accounts(session, actor, sorted(changed), sync=False)
    return len(changed)
