"""Fees and late-payment interest, posted through billing/payments so that they are open
items the allocator pays first (fees, then interest, then principal).

Interest is simple, at the policy's yearly ``interest_rate``, day count ACT/365 (or
ACT/360): on each overdue principal item, ``open amount * rate * days / 365`` rounded half
up to the minor unit, the days running from the day after the due date (or after the last
date already charged) to the charging day inclusive.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.collections.models import InterestCharge
from billing.payments import service as payments
from billing.payments.enums import ItemKind
from billing.payments.models import ReceivableItem
from billing.payments.schemas import ReceivableItemCreate
from core.context import Actor


def charge_fee(
    session: Session, actor: Actor, *, customer_account_id: int, amount: int, ref: str, on: date
) -> ReceivableItem:
    """A dunning fee: receivable debit, fee revenue credit, an open item due ``on``."""
    return payments.charge(
        session,
        actor,
        data=ReceivableItemCreate(
            customer_account_id=customer_account_id,
            kind=ItemKind.FEE,
            document_ref=ref,
            due_date=on,
            amount=amount,
            memo=f"dunning fee {ref}",
        ),
    )


def interest_amount(base: int, rate: Decimal, days: int, day_count: str = "ACT/365") -> int:
    """``base * rate * days / year`` rounded half up to the minor unit."""
    year = 360 if day_count == "ACT/360" else 365
    value = Decimal(base) * rate * Decimal(days) / Decimal(year)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Overdue principal items of files still in dunning, their policy's rate, and the last day
# already charged (or the due date).
_BASES = text(
    """
    SELECT r.id, r.customer_account_id, r.due_date,
           r.amount - COALESCE((SELECT sum(a.amount) FROM billing_payment_allocation a
                                WHERE a.item_id = r.id AND a.released_at IS NULL), 0),
           COALESCE((SELECT max(i.through_date) FROM collection_interest i
                     WHERE i.source_item_id = r.id), r.due_date),
           p.interest_rate, p.interest_day_count
    FROM billing_receivable_item r
    JOIN collection_file f ON f.customer_account_id = r.customer_account_id
    JOIN collection_policy p ON p.id = f.policy_id
    WHERE r.kind = 'principal' AND r.closed_at IS NULL AND r.due_date < :on
      AND f.status = 'overdue' AND p.interest_rate > 0
      AND (CAST(:all_accounts AS boolean) OR r.customer_account_id = ANY(:accounts))
    ORDER BY r.customer_account_id, r.id
    """
)


def charge_interest(
    session: Session, actor: Actor, *, on: date, account_ids: list[int] | None = None
) -> list[ReceivableItem]:
    """Charge interest up to ``on`` on every overdue principal item of accounts in dunning:
    one interest item per account (``INT-<account>-<date>``), its detail per source item."""
    rows = session.execute(
        _BASES,
        {"on": on, "all_accounts": account_ids is None, "accounts": account_ids or []},
    ).all()
    per_account: dict[int, list[tuple[int, int, int, int]]] = {}
    for item_id, account_id, _due, open_amount, since, rate, day_count in rows:
        days = (on - since).days
        amount = interest_amount(int(open_amount), Decimal(rate), days, day_count)
        if open_amount > 0 and days > 0 and amount > 0:
            per_account.setdefault(account_id, []).append((item_id, int(open_amount), days, amount))
    items = []
    for account_id, parts in per_account.items():
        item = payments.charge(
            session,
            actor,
            data=ReceivableItemCreate(
                customer_account_id=account_id,
                kind=ItemKind.INTEREST,
                document_ref=f"INT-{account_id}-{on.isoformat()}",
                due_date=on,
                amount=sum(p[3] for p in parts),
                memo=f"late-payment interest to {on.isoformat()}",
            ),
        )
        session.add_all(
            InterestCharge(
                customer_account_id=account_id,
                source_item_id=item_id,
                interest_item_id=item.id,
                base=base,
                days=days,
                through_date=on,
                amount=amount,
            )
            for item_id, base, days, amount in parts
        )
        items.append(item)
    session.flush()
    return items
