"""The ``opening_balances`` file: what each customer account owed (or had in credit) in the
legacy system on the cut-over date, taken over into the ledger.

Each row posts one balanced ledger transaction (kind ``opening_balance``, dated
``balance_date``): the amount on the account's receivable sub-ledger, the opposite on
``equity:opening`` (the chart's offset for balances taken over). Its source document is
``opening:<account_number>``, so an account has one opening balance (the file's key)
and a re-import posts nothing twice: a row restating a posted balance is
unchanged; a row changing one is refused (``opening_balance_posted``): the books are
append-only, and a correction is an adjustment posted in the ledger, not a new import.

Amounts are in major units of the currency with at most its decimals (``12500`` XOF,
``125.40`` EUR); positive: the customer owes, negative: the customer is in credit. A zero
balance posts nothing (the report notes it, ``nothing_to_post``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.ledger.models import TransactionKind
from core.migration.context import MigrationContext, Problem
from core.migration.spec import Column, Entity, WriteCounts, register
from core.money import CurrencyUnknownError, minor_exponent, to_major
from core.periods import local_date
from core.settings import get_settings
from customers.migration import sql

ENTITY = "opening_balances"
KEY = "account_number"
KIND = TransactionKind.OPENING_BALANCE.value
RECEIVABLE = "receivable"
OFFSET = "equity:opening"
SOURCE_PREFIX = "opening:"

COLUMNS = (
    Column(KEY, required=True, doc="the customer account (contracts file or stored)", examples=("0000000018", "0000000026")),
    Column("amount", "decimal", required=True, doc="balance in major units, at most the currency's decimals; negative: in credit", examples=("12500", "-3000")),
    Column("currency", doc="ISO 4217 code (default: the deployment's)", examples=("XOF", "XOF")),
    Column("balance_date", "date", required=True, doc="the legacy system's cut-off date; the balance is posted on it", examples=("2024-12-31", "2024-12-31")),
)  # fmt: skip

# Posted opening balances, one row per account (its receivable posting) with the values
# a file row is compared with.
POSTED_SQL = f"""
SELECT t.id AS transaction_id, a.number AS account_number, t.currency, t.entry_date,
       p.amount AS minor,
       EXISTS (SELECT 1 FROM billing_ledger_transaction r WHERE r.reverses_id = t.id)
           AS reversed
FROM billing_ledger_transaction t
JOIN billing_ledger_posting p ON p.transaction_id = t.id AND p.customer_account_id IS NOT NULL
JOIN customer_account a ON a.id = p.customer_account_id
WHERE t.kind = '{KIND}' AND t.reverses_id IS NULL
"""


def _exponents(ctx: MigrationContext) -> None:
    """Fill the staging column ``exponent`` (the currency's decimals, from CLDR) and refuse
    unknown currencies (``invalid_currency``)."""
    staging = ctx.staging(ENTITY)
    sql.execute(
        ctx,
        f"UPDATE {staging} SET currency = upper(coalesce(currency, :default))",
        {"default": get_settings().currency},
    )
    sql.add_column(ctx, ENTITY, "exponent", "integer")
    unknown = []
    for (currency,) in sql.rows(ctx, f"SELECT DISTINCT currency FROM {ctx.valid(ENTITY)} s"):
        try:
            exponent = minor_exponent(currency)
        except CurrencyUnknownError:
            unknown.append(currency)
            continue
        sql.execute(
            ctx,
            f"UPDATE {staging} SET exponent = :e WHERE currency = :c",
            {"e": exponent, "c": currency},
        )
    if unknown:
        ctx.problems(
            ENTITY,
            f"SELECT line, 'currency', 'invalid_currency', s.currency || ' is not ISO 4217' "
            f"FROM {ctx.valid(ENTITY)} s WHERE s.currency = ANY(:unknown)",
            {"unknown": unknown},
        )


def validate(ctx: MigrationContext) -> None:
    _exponents(ctx)
    sql.condition(
        ctx,
        ENTITY,
        "amount",
        "amount_precision",
        "more decimals than the currency has",
        "s.amount * power(10::numeric, s.exponent) <> trunc(s.amount * power(10::numeric, s.exponent))",
    )
    sql.condition(
        ctx,
        ENTITY,
        "amount",
        "amount_too_large",
        "beyond what the ledger holds",
        "abs(s.amount * power(10::numeric, s.exponent)) >= 9e18",
    )
    ctx.problems(
        ENTITY,
        f"SELECT line, 'balance_date', 'date_in_future', "
        f"'a balance taken over is dated today or before' FROM {ctx.valid(ENTITY)} s "
        "WHERE s.balance_date > :today",
        {"today": local_date_today()},
    )
    stored_accounts = "SELECT number AS key FROM customer_account"
    contracts_file = (
        f"SELECT account_number::text AS key FROM {ctx.valid('contracts')} c"
        if ctx.has_file("contracts")
        else "SELECT NULL::text AS key WHERE false"
    )
    sql.reference(ctx, ENTITY, KEY, f"{stored_accounts} UNION {contracts_file}", "account")
    # Already posted: the same values are unchanged, others refused (the books are
    # append-only), and a reversed one must be corrected in the ledger itself.
    ctx.problems(
        ENTITY,
        f"SELECT s.line, 'amount', "
        "CASE WHEN p.reversed THEN 'opening_balance_reversed' ELSE 'opening_balance_posted' END, "
        "'account ' || s.account_number || CASE WHEN p.reversed "
        "THEN ' had its opening balance posted and reversed: post the correction in the ledger' "
        "ELSE ' already has an opening balance of ' || p.minor || ' minor units of ' "
        "|| p.currency || ' on ' || p.entry_date || ': correct it with an adjustment' END "
        f"FROM {ctx.valid(ENTITY)} s JOIN ({POSTED_SQL}) p ON p.account_number = s.account_number "
        "WHERE p.reversed OR (p.currency, p.entry_date, p.minor) IS DISTINCT FROM "
        "(s.currency, s.balance_date, (s.amount * power(10::numeric, s.exponent))::bigint)",
    )
    zeros = f"SELECT line, account_number FROM {ctx.valid(ENTITY)} s WHERE s.amount = 0"
    for line, number in sql.rows(ctx, zeros):
        ctx.note(
            Problem(ENTITY, line, "amount", "nothing_to_post", f"account {number}: a zero balance")
        )


def local_date_today() -> date:
    from datetime import UTC, datetime

    return local_date(datetime.now(UTC))


def write(ctx: MigrationContext) -> WriteCounts:
    valid = ctx.valid(ENTITY)
    total = int(sql.scalar(ctx, f"SELECT count(*) FROM {valid} s WHERE s.amount <> 0"))
    # One transaction per new balance (the unique source index makes a race harmless).
    posted = sql.rows(
        ctx,
        "INSERT INTO billing_ledger_transaction "
        "(entry_date, kind, currency, source_ref, memo, created_by) "
        f"SELECT s.balance_date, '{KIND}', s.currency, '{SOURCE_PREFIX}' || s.account_number, "
        "'opening balance taken over (migration run ' || :run || ')', :user "
        f"FROM {valid} s WHERE s.amount <> 0 AND NOT EXISTS ("
        f"SELECT 1 FROM billing_ledger_transaction t WHERE t.kind = '{KIND}' "
        f"AND t.source_ref = '{SOURCE_PREFIX}' || s.account_number) ORDER BY s.line "
        "ON CONFLICT (kind, source_ref) WHERE reverses_id IS NULL AND source_ref IS NOT NULL "
        "DO NOTHING RETURNING id",
        {"run": ctx.run_id, "user": ctx.actor.user_id},
    )
    inserted = len(posted)
    if inserted:
        # The receivable on the account's sub-ledger, the opposite on the offset account:
        # the transaction balances (the database checks it again at commit).
        sql.execute(
            ctx,
            "INSERT INTO billing_ledger_posting (transaction_id, account_id, customer_account_id, amount) "
            "SELECT t.id, l.id, CASE WHEN l.per_customer_account THEN a.id END, "
            "CASE WHEN l.code = :receivable THEN 1 ELSE -1 END * (s.amount * power(10::numeric, s.exponent))::bigint "
            f"FROM {valid} s "
            "JOIN customer_account a ON a.number = s.account_number "
            f"JOIN billing_ledger_transaction t ON t.kind = '{KIND}' "
            f"AND t.source_ref = '{SOURCE_PREFIX}' || s.account_number AND t.reverses_id IS NULL "
            "JOIN billing_ledger_account l ON l.code IN (:receivable, :offset) "
            "WHERE t.id = ANY(:ids)",
            {"receivable": RECEIVABLE, "offset": OFFSET, "ids": [int(r[0]) for r in posted]},
        )
        ctx.grown("billing_ledger_posting", 2 * inserted)
    ctx.remember_keys(
        ENTITY,
        f"SELECT s.account_number, t.id FROM {valid} s "
        f"JOIN billing_ledger_transaction t ON t.kind = '{KIND}' "
        f"AND t.source_ref = '{SOURCE_PREFIX}' || s.account_number AND t.reverses_id IS NULL",
    )
    return WriteCounts(inserted=inserted, updated=0, unchanged=total - inserted)


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    rows = session.execute(
        text(
            f"SELECT account_number, minor, currency, entry_date FROM ({POSTED_SQL}) p "
            'WHERE NOT p.reversed ORDER BY account_number COLLATE "C"'
        )
    )
    return [
        {
            KEY: number,
            "amount": to_major(int(minor), currency),
            "currency": currency,
            "balance_date": entry_date,
        }
        for number, minor, currency, entry_date in rows
    ]


OPENING_BALANCES = register(
    Entity(
        name=ENTITY,
        title="Opening balances (what each account owed on the cut-over date)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        depends_on=("contracts",),
        doc=__doc__ or "",
        optional=True,
    )
)
