"""Fees and late-payment interest: ledger transactions (receivable debit, fee or interest
revenue credit) and open items that the allocator pays first (fees, then interest, then
principal), written set-based for the whole night (a few statements, whatever the number
of accounts), the same rows ``billing.payments.service.charge`` writes for one.

Interest is simple, at the policy's yearly ``interest_rate``, day count ACT/365 (or
ACT/360): on each overdue principal item, ``open amount * rate * days / 365`` rounded half
up to the minor unit, the days running from the day after the due date (or after the last
date already charged) to the charging day inclusive.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from billing.collections.engine import DUE_TABLE
from billing.payments.allocation import allocate_accounts
from core.context import Actor
from core.locks import LockSpace, xact_locks


def interest_amount(base: int, rate: Decimal, days: int, day_count: str = "ACT/365") -> int:
    """``base * rate * days / year`` rounded half up to the minor unit."""
    year = 360 if day_count == "ACT/360" else 365
    value = Decimal(base) * rate * Decimal(days) / Decimal(year)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Interest due per overdue principal item of files still in dunning (the policy's rate,
# from the day after the last date already charged, or the due date, to :on inclusive),
# rounded half up (``round`` of a positive numeric), then one interest item per account
# with its ids drawn here. ``interest_amount`` is the same formula, for one item.
_INTEREST_STAGE = [
    text("DROP TABLE IF EXISTS collection_interest_due"),
    text(
        """
        CREATE TEMP TABLE collection_interest_due ON COMMIT DROP AS
        SELECT b.source_item_id, b.customer_account_id, b.currency, b.base, b.days,
               round(b.base * b.rate * b.days
                     / CASE b.day_count WHEN 'ACT/360' THEN 360 ELSE 365 END)::bigint AS amount
        FROM (
            SELECT r.id AS source_item_id, r.customer_account_id, p.interest_rate AS rate,
                   r.currency,  -- interest accrues in its bill's currency
                   p.interest_day_count AS day_count,
                   r.amount - COALESCE((SELECT sum(a.amount) FROM billing_payment_allocation a
                                        WHERE a.item_id = r.id AND a.released_at IS NULL), 0)
                       AS base,
                   :on - COALESCE((SELECT max(i.through_date) FROM collection_interest i
                                   WHERE i.source_item_id = r.id), r.due_date) AS days
            FROM billing_receivable_item r
            JOIN collection_file f ON f.customer_account_id = r.customer_account_id
            JOIN collection_policy p ON p.id = f.policy_id
            WHERE r.kind = 'principal' AND r.closed_at IS NULL AND r.due_date < :on
              AND f.status = 'overdue' AND p.interest_rate > 0
              AND (CAST(:all_accounts AS boolean)
                   OR r.customer_account_id = ANY(CAST(:accounts AS bigint[])))
        ) b
        WHERE b.base > 0 AND b.days > 0
          AND round(b.base * b.rate * b.days
                    / CASE b.day_count WHEN 'ACT/360' THEN 360 ELSE 365 END) > 0
        """
    ),
    text("DROP TABLE IF EXISTS collection_interest_item"),
    text(
        """
        CREATE TEMP TABLE collection_interest_item ON COMMIT DROP AS
        SELECT customer_account_id, min(currency) AS currency, sum(amount)::bigint AS amount,
               'INT-' || customer_account_id || '-' || to_char(CAST(:on AS date), 'YYYY-MM-DD')
                   AS ref,
               nextval(pg_get_serial_sequence('billing_ledger_transaction', 'id')) AS txn_id,
               nextval(pg_get_serial_sequence('billing_receivable_item', 'id')) AS item_id
        FROM (SELECT * FROM collection_interest_due ORDER BY customer_account_id) d
        GROUP BY customer_account_id ORDER BY customer_account_id
        """
    ),
]


def _charge_writes(
    stage: str, *, kind: str, revenue: str, amount: str, order: str, memo: str
) -> list[TextClause]:
    """The rows ``payments.service.charge`` writes for one charge, for every row of the
    staged table ``stage`` (``txn_id``, ``item_id``, ``customer_account_id``, ``ref`` and
    the ``amount`` column): a ledger transaction of ``kind``, its receivable debit and
    ``revenue`` credit, an open receivable item of ``kind`` due that day."""
    return [
        text(
            f"""
            INSERT INTO billing_ledger_transaction (id, entry_date, kind, currency, source_ref,
                                                    memo, created_by)
            SELECT txn_id, :on, '{kind}', currency, ref, {memo}, :user_id
            FROM {stage} ORDER BY {order}
            """
        ),
        text(
            f"""
            INSERT INTO billing_ledger_posting (transaction_id, account_id,
                                                customer_account_id, amount)
            SELECT g.txn_id, l.id,
                   CASE WHEN l.per_customer_account THEN g.customer_account_id END,
                   CASE WHEN l.per_customer_account THEN g.{amount} ELSE -g.{amount} END
            FROM {stage} g
            JOIN billing_ledger_account l ON l.code IN ('receivable', '{revenue}')
            ORDER BY g.{order}, l.per_customer_account DESC
            """
        ),
        text(
            f"""
            INSERT INTO billing_receivable_item (id, customer_account_id, kind, document_ref,
                                                 due_date, amount, currency,
                                                 ledger_transaction_id)
            SELECT item_id, customer_account_id, '{kind}', ref, :on, {amount}, currency,
                   txn_id
            FROM {stage} ORDER BY {order}
            """
        ),
    ]


_INTEREST_WRITES = [
    *_charge_writes(
        "collection_interest_item",
        kind="interest",
        revenue="revenue:interest",
        amount="amount",
        order="customer_account_id",
        memo=":memo",
    ),
    text(
        """
        INSERT INTO collection_interest (customer_account_id, source_item_id, interest_item_id,
                                         base, days, through_date, amount)
        SELECT d.customer_account_id, d.source_item_id, g.item_id, d.base, d.days, :on,
               d.amount
        FROM collection_interest_due d
        JOIN collection_interest_item g ON g.customer_account_id = d.customer_account_id
        ORDER BY d.customer_account_id, d.source_item_id
        """
    ),
]


def charge_interest(
    session: Session, actor: Actor, *, on: date, account_ids: list[int] | None = None
) -> int:
    """Charge interest up to ``on`` on every overdue principal item of accounts in dunning
    (set-based): one interest item per account (``INT-<account>-<date>``: receivable debit,
    interest revenue credit), its detail per source item; then the accounts' credit is
    spent on the new items. Returns the interest items charged."""
    params = {"on": on, "all_accounts": account_ids is None, "accounts": account_ids or []}
    for statement in _INTEREST_STAGE:
        session.execute(statement, params)
    accounts = [
        int(a)
        for (a,) in session.execute(
            text("SELECT customer_account_id FROM collection_interest_item ORDER BY 1")
        )
    ]
    if not accounts:
        return 0
    session.flush()  # the ORM's pending rows before the statements on the same connection
    params = {"on": on, "user_id": actor.user_id,
              "memo": f"late-payment interest to {on.isoformat()}"}  # fmt: skip
    for statement in _INTEREST_WRITES:
        session.execute(statement, params)
    xact_locks(session, LockSpace.PAYMENT_ALLOCATION, accounts)
    allocate_accounts(session, actor, accounts)
    session.expire_all()
    return len(accounts)


# The night's fees, set-based from the staged steps (``engine.DUE_TABLE``): per step with a
# fee, what ``payments.service.charge`` does for one (a ledger transaction ``DUN-<action>`` of kind fee,
# receivable debit and fee revenue credit, an open fee item due that day), ids drawn in the
# stage so that the transaction, its postings, the item and the action link up without
# RETURNING. Then the accounts' credit is spent on the new items (``allocate_accounts``).
_FEE_STAGE = [
    text("DROP TABLE IF EXISTS collection_fee"),
    text(
        f"""
        CREATE TEMP TABLE collection_fee ON COMMIT DROP AS
        SELECT d.action_id, d.customer_account_id, d.fee,
               -- the fee is in the currency of the company whose policy charges it
               (SELECT co.currency FROM collection_file f
                JOIN collection_policy p ON p.id = f.policy_id
                JOIN core_company co ON co.id = p.company_id
                WHERE f.customer_account_id = d.customer_account_id) AS currency,
               'DUN-' || d.action_id AS ref,
               nextval(pg_get_serial_sequence('billing_ledger_transaction', 'id')) AS txn_id,
               nextval(pg_get_serial_sequence('billing_receivable_item', 'id')) AS item_id
        FROM {DUE_TABLE} d WHERE d.fee > 0 ORDER BY d.action_id
        """
    ),
]
_FEE_WRITES = [
    *_charge_writes(
        "collection_fee",
        kind="fee",
        revenue="revenue:fees",
        amount="fee",
        order="action_id",
        memo="'dunning fee ' || ref",
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
    params = {"on": on, "user_id": actor.user_id}
    for statement in _FEE_WRITES:
        session.execute(statement, params)
    xact_locks(session, LockSpace.PAYMENT_ALLOCATION, accounts)
    allocate_accounts(session, actor, accounts)
    session.expire_all()
    return int(session.execute(text("SELECT count(*) FROM collection_fee")).scalar_one())


_FEE_ACCOUNTS = "SELECT DISTINCT customer_account_id FROM collection_fee ORDER BY 1"
