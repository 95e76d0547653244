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

from billing.collections.engine import DUE_TABLE
from billing.collections.models import InterestCharge
from billing.payments import service as payments
from billing.payments.allocation import allocate_accounts
from billing.payments.enums import ItemKind
from billing.payments.models import ReceivableItem
from billing.payments.schemas import ReceivableItemCreate
from core.context import Actor
from core.locks import LockSpace, xact_locks
from core.settings import get_settings


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


# The night's fees, set-based from the staged steps (``engine.DUE_TABLE``): per step with a
# fee, the same as ``charge_fee`` (a ledger transaction ``DUN-<action>`` of kind fee,
# receivable debit and fee revenue credit, an open fee item due that day), ids drawn in the
# stage so that the transaction, its postings, the item and the action link up without
# RETURNING. Then the accounts' credit is spent on the new items (``allocate_accounts``).
_FEE_STAGE = [
    text("DROP TABLE IF EXISTS collection_fee"),
    text(
        f"""
        CREATE TEMP TABLE collection_fee ON COMMIT DROP AS
        SELECT d.action_id, d.customer_account_id, d.fee,
               'DUN-' || d.action_id AS ref,
               nextval(pg_get_serial_sequence('billing_ledger_transaction', 'id')) AS txn_id,
               nextval(pg_get_serial_sequence('billing_receivable_item', 'id')) AS item_id
        FROM {DUE_TABLE} d WHERE d.fee > 0 ORDER BY d.action_id
        """
    ),
]
_FEE_WRITES = [
    text(
        """
        INSERT INTO billing_ledger_transaction (id, entry_date, kind, currency, source_ref,
                                                memo, created_by)
        SELECT txn_id, :on, 'fee', :currency, ref, 'dunning fee ' || ref, :user_id
        FROM collection_fee ORDER BY action_id
        """
    ),
    text(
        """
        INSERT INTO billing_ledger_posting (transaction_id, account_id, customer_account_id,
                                            amount)
        SELECT g.txn_id, l.id, CASE WHEN l.per_customer_account THEN g.customer_account_id END,
               CASE WHEN l.per_customer_account THEN g.fee ELSE -g.fee END
        FROM collection_fee g
        JOIN billing_ledger_account l ON l.code IN ('receivable', 'revenue:fees')
        ORDER BY g.action_id, l.per_customer_account DESC
        """
    ),
    text(
        """
        INSERT INTO billing_receivable_item (id, customer_account_id, kind, document_ref,
                                             due_date, amount, currency, ledger_transaction_id)
        SELECT item_id, customer_account_id, 'fee', ref, :on, fee, :currency, txn_id
        FROM collection_fee ORDER BY action_id
        """
    ),
    text(
        """
        UPDATE collection_action a SET fee_item_id = g.item_id
        FROM collection_fee g WHERE a.id = g.action_id
        """
    ),
]


def charge_staged_fees(session: Session, actor: Actor, *, on: date) -> int:
    """Charge the fee of every step staged by ``engine.advance`` (set-based); returns the
    fees charged."""
    for statement in _FEE_STAGE:
        session.execute(statement)
    accounts = [int(a) for (a,) in session.execute(text(_FEE_ACCOUNTS))]
    if not accounts:
        return 0
    session.flush()  # the ORM's pending rows before the statements on the same connection
    params = {"on": on, "currency": get_settings().currency, "user_id": actor.user_id}
    for statement in _FEE_WRITES:
        session.execute(statement, params)
    xact_locks(session, LockSpace.PAYMENT_ALLOCATION, accounts)
    allocate_accounts(session, actor, accounts)
    session.expire_all()
    return int(session.execute(text("SELECT count(*) FROM collection_fee")).scalar_one())


_FEE_ACCOUNTS = "SELECT DISTINCT customer_account_id FROM collection_fee ORDER BY 1"
