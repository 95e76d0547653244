"""Reading the ledger: balances, account statements and the books' self-check. Every
figure here is a SUM of postings computed when asked, never a stored number."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from billing.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from core.context import Actor
from core.territory import visible
from customers.models import Account


@dataclass(frozen=True)
class StatementLine:
    """One receivable posting of a customer account, with the balance after it."""

    transaction_id: int
    entry_date: date
    kind: str
    source_ref: str | None
    memo: str
    currency: str
    amount: int  # debit (the customer owes more) positive, credit negative
    balance: int  # running balance in ``currency`` after this posting


@dataclass
class Statement:
    """A customer account's receivable postings from ``date_from`` to ``date_to``
    (inclusive), with the balance per currency before and after."""

    customer_account_id: int
    date_from: date | None
    date_to: date | None
    opening: dict[str, int] = field(default_factory=dict)
    lines: list[StatementLine] = field(default_factory=list)
    closing: dict[str, int] = field(default_factory=dict)


def _receivable(customer_account_ids: list[int]) -> list[ColumnElement[bool]]:
    return [
        LedgerPosting.customer_account_id.in_(customer_account_ids),
        LedgerAccount.id == LedgerPosting.account_id,
        LedgerAccount.per_customer_account.is_(True),
        LedgerTransaction.id == LedgerPosting.transaction_id,
    ]


def customer_account_seen(session: Session, actor: Actor, customer_account_id: int) -> bool:
    """Whether ``actor`` may see the customer account (and so its postings)."""
    found = session.scalar(
        select(Account.id).where(Account.id == customer_account_id, visible(actor, Account))
    )
    return found is not None


def balances(session: Session, customer_account_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each customer account owes (positive) or has in credit (negative), per
    currency: the sum of its receivable postings. Accounts without postings are absent."""
    rows = session.execute(
        select(
            LedgerPosting.customer_account_id,
            LedgerTransaction.currency,
            func.sum(LedgerPosting.amount),
        )
        .where(*_receivable(customer_account_ids))
        .group_by(LedgerPosting.customer_account_id, LedgerTransaction.currency)
    )
    result: dict[int, dict[str, int]] = {}
    for account_id, currency, total in rows:
        if account_id is not None:  # always: receivable postings name their account
            result.setdefault(account_id, {})[currency] = int(total)
    return result


def statement(
    session: Session,
    customer_account_id: int,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Statement:
    """The account statement: the opening balance (postings dated before ``date_from``),
    then each posting of the range in date order with its running balance."""
    result = Statement(customer_account_id, date_from, date_to)
    where = _receivable([customer_account_id])
    if date_from is not None:
        opening = session.execute(
            select(LedgerTransaction.currency, func.sum(LedgerPosting.amount))
            .where(*where, LedgerTransaction.entry_date < date_from)
            .group_by(LedgerTransaction.currency)
        )
        result.opening = {currency: int(total) for currency, total in opening}
    in_range = and_(
        LedgerTransaction.entry_date >= date_from if date_from else literal(True),
        LedgerTransaction.entry_date <= date_to if date_to else literal(True),
    )
    order = (LedgerTransaction.entry_date, LedgerTransaction.id, LedgerPosting.id)
    running = func.sum(LedgerPosting.amount).over(
        partition_by=LedgerTransaction.currency, order_by=order
    )
    rows = session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.entry_date,
            LedgerTransaction.kind,
            LedgerTransaction.source_ref,
            LedgerTransaction.memo,
            LedgerTransaction.currency,
            LedgerPosting.amount,
            running,
        )
        .where(*where, in_range)
        .order_by(*order)
    )
    for txn_id, entry_date, kind, ref, memo, currency, amount, within in rows:
        balance = result.opening.get(currency, 0) + int(within)
        result.lines.append(
            StatementLine(txn_id, entry_date, kind, ref, memo, currency, amount, balance)
        )
        result.closing[currency] = balance
    for currency, before in result.opening.items():
        result.closing.setdefault(currency, before)
    return result


@dataclass(frozen=True)
class Imbalance:
    """A transaction whose postings do not sum to zero (or that has fewer than two)."""

    transaction_id: int
    postings: int
    total: int


@dataclass(frozen=True)
class SubledgerGap:
    """A control account whose postings differ from the sum of its customer sub-ledgers,
    or an account without sub-ledger carrying postings that name a customer account."""

    account_code: str
    control_total: int
    subledger_total: int


@dataclass
class CheckReport:
    """What ``kilowatch ledger check`` found: empty lists mean the books hold."""

    transactions: int = 0
    imbalances: list[Imbalance] = field(default_factory=list)
    subledger_gaps: list[SubledgerGap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.imbalances and not self.subledger_gaps

    @property
    def total_imbalance(self) -> int:
        """The sum of the absolute amounts by which transactions fail to balance."""
        return sum(abs(i.total) for i in self.imbalances)


def check(session: Session) -> CheckReport:
    """Prove the books: every transaction balances, and every control account equals the
    sum of its customer sub-ledgers (no receivable posting lacks its customer account,
    no other posting names one)."""
    report = CheckReport()
    report.transactions = session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0
    postings = func.count(LedgerPosting.id)
    total = func.coalesce(func.sum(LedgerPosting.amount), 0)
    unbalanced = session.execute(
        select(LedgerTransaction.id, postings, total)
        .outerjoin(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id)
        .having((postings < 2) | (total != 0))
        .order_by(LedgerTransaction.id)
    )
    report.imbalances = [Imbalance(t, int(n), int(s)) for t, n, s in unbalanced]
    named = case((LedgerPosting.customer_account_id.is_not(None), LedgerPosting.amount), else_=0)
    gaps = session.execute(
        select(
            LedgerAccount.code,
            LedgerAccount.per_customer_account.is_(True),
            func.sum(LedgerPosting.amount),
            func.sum(named),
            func.count().filter(LedgerPosting.customer_account_id.is_(None)),
            func.count().filter(LedgerPosting.customer_account_id.is_not(None)),
        )
        .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.id)
        .order_by(LedgerAccount.code)
    )
    for code, per_customer, control, subledger, unnamed, named_count in gaps:
        wrong = unnamed if per_customer else named_count
        if wrong:
            report.subledger_gaps.append(SubledgerGap(code, int(control), int(subledger)))
    return report
