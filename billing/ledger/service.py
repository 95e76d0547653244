"""Writing the ledger: the chart of accounts, posting a transaction, reversing one.

Services flush, never commit. Every check the database makes at commit (a transaction
balances, a receivable posting names its customer account) is made here first, so a
caller gets a clear 4xx instead of a failed commit; the database stays the last word.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger.errors import (
    LedgerAccountConflictError,
    LedgerPostingInvalidError,
    LedgerSourcePostedError,
    LedgerTransactionNotFoundError,
    LedgerTransactionReversedError,
    LedgerTransactionUnbalancedError,
)
from billing.ledger.models import (
    AccountKind,
    LedgerAccount,
    LedgerPosting,
    LedgerTransaction,
    TransactionKind,
)
from core.context import Actor
from core.flush import by_constraint, flush_guarded
from core.money import CurrencyUnknownError, minor_exponent
from core.territory import require_visible
from customers.models import Account


@dataclass(frozen=True)
class ChartEntry:
    """One account of a chart of accounts to load (``load_chart``)."""

    code: str
    name: str
    kind: AccountKind
    per_customer_account: bool = False


@dataclass(frozen=True)
class Line:
    """One posting to make: ``amount`` minor units (debit positive, credit negative) on the
    account coded ``account``; ``customer_account_id`` for a receivable."""

    account: str
    amount: int
    customer_account_id: int | None = None


def load_chart(session: Session, entries: Iterable[ChartEntry]) -> list[LedgerAccount]:
    """Create the accounts of ``entries`` that do not exist yet and rename the others. An
    entry changing an existing account's kind or sub-ledger is refused: its postings were
    made under the old meaning."""
    accounts = []
    for entry in entries:
        account = session.scalars(
            select(LedgerAccount).where(LedgerAccount.code == entry.code)
        ).one_or_none()
        if account is None:
            account = LedgerAccount(
                code=entry.code,
                name=entry.name,
                kind=entry.kind.value,
                per_customer_account=entry.per_customer_account,
            )
            session.add(account)
        elif (account.kind, account.per_customer_account) != (
            entry.kind.value,
            entry.per_customer_account,
        ):
            raise LedgerAccountConflictError(
                f"account {entry.code} is {account.kind}"
                f"{' with a sub-ledger' if account.per_customer_account else ''}: "
                "open a new account instead of changing its meaning"
            )
        else:
            account.name = entry.name
        accounts.append(account)
    session.flush()
    return accounts


def _accounts(session: Session, codes: set[str]) -> dict[str, LedgerAccount]:
    found = session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(codes)))
    return {account.code: account for account in found}


def _checked(session: Session, actor: Actor, lines: Sequence[Line]) -> list[LedgerPosting]:
    """The postings of ``lines``, refused unless they balance and name what they must."""
    if len(lines) < 2 or sum(line.amount for line in lines) != 0:
        raise LedgerTransactionUnbalancedError(
            f"{len(lines)} postings summing to {sum(line.amount for line in lines)}: "
            "a transaction needs two or more postings summing to zero"
        )
    accounts = _accounts(session, {line.account for line in lines})
    postings = []
    for line in lines:
        account = accounts.get(line.account)
        if account is None:
            raise LedgerPostingInvalidError(f"no ledger account {line.account}")
        if line.amount == 0:
            raise LedgerPostingInvalidError(f"a posting on {line.account} of zero")
        if account.per_customer_account != (line.customer_account_id is not None):
            raise LedgerPostingInvalidError(
                f"a posting on {line.account} must "
                f"{'' if account.per_customer_account else 'not '}name a customer account"
            )
        if line.customer_account_id is not None:
            require_visible(session, actor, Account, line.customer_account_id, "account")
        postings.append(
            LedgerPosting(
                account_id=account.id,
                customer_account_id=line.customer_account_id,
                amount=line.amount,
            )
        )
    return postings


_TRANSLATE = by_constraint(
    {
        "uq_billing_ledger_transaction_source": lambda: LedgerSourcePostedError(
            "this source document is already in the ledger"
        ),
        "uq_billing_ledger_transaction_reverses_id": lambda: LedgerTransactionReversedError(
            "this transaction is already reversed"
        ),
        "fk_billing_ledger_posting_customer_account_id_customer_account": lambda: (
            LedgerPostingInvalidError("no such customer account")
        ),
    }
)


def _add(
    session: Session, txn: LedgerTransaction, postings: list[LedgerPosting], *, guarded: bool = True
) -> None:
    def apply() -> None:
        session.add(txn)
        session.flush()
        for posting in postings:
            posting.transaction_id = txn.id
        session.add_all(postings)

    if guarded:
        flush_guarded(session, _TRANSLATE, apply)
    else:
        apply()
        session.flush()


def post(
    session: Session,
    actor: Actor,
    *,
    kind: TransactionKind,
    entry_date: date,
    currency: str,
    lines: Sequence[Line],
    source_ref: str | None = None,
    memo: str = "",
    fresh_source: bool = False,
) -> LedgerTransaction:
    """Record one balanced accounting event. ``source_ref`` names its document: a document
    already posted under the same kind is refused (``ledger_source_posted``).
    ``fresh_source``: the caller drew ``source_ref`` from a sequence and names accounts it
    has checked, so no constraint can translate into a domain error: no savepoint (three
    statements fewer per payment); the database still has the last word."""
    try:
        minor_exponent(currency)
    except CurrencyUnknownError as exc:
        raise LedgerPostingInvalidError(str(exc)) from exc
    postings = _checked(session, actor, lines)
    txn = LedgerTransaction(
        entry_date=entry_date,
        kind=kind.value,
        currency=currency,
        source_ref=source_ref,
        memo=memo,
        created_by=actor.user_id,
    )
    _add(session, txn, postings, guarded=not fresh_source)
    return txn


def reverse(
    session: Session, actor: Actor, transaction_id: int, *, entry_date: date, memo: str = ""
) -> LedgerTransaction:
    """Cancel a transaction by posting its mirror image on ``entry_date`` (the books are
    append-only: nothing posted is ever edited). A reversal is not reversed again: post
    the corrected transaction instead."""
    original = session.get(LedgerTransaction, transaction_id)
    if original is None:
        raise LedgerTransactionNotFoundError(f"no ledger transaction {transaction_id}")
    if original.reverses_id is not None:
        raise LedgerTransactionReversedError(f"transaction {transaction_id} is a reversal")
    lines = session.scalars(
        select(LedgerPosting)
        .where(LedgerPosting.transaction_id == transaction_id)
        .order_by(LedgerPosting.id)
    ).all()
    for line in lines:
        if line.customer_account_id is not None:
            require_visible(session, actor, Account, line.customer_account_id, "account")
    txn = LedgerTransaction(
        entry_date=entry_date,
        kind=original.kind,
        currency=original.currency,
        source_ref=original.source_ref,
        memo=memo or f"reversal of transaction {transaction_id}",
        reverses_id=original.id,
        created_by=actor.user_id,
    )
    mirrored = [
        LedgerPosting(
            account_id=line.account_id,
            customer_account_id=line.customer_account_id,
            amount=-line.amount,
        )
        for line in lines
    ]
    _add(session, txn, mirrored)
    return txn
