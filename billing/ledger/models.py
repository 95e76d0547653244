"""The ledger: a chart of accounts, transactions and their postings (double entry).

A ``LedgerAccount`` is a line of the utility's chart of accounts (receivables, cash, energy
revenue, VAT payable ...). A ``LedgerTransaction`` is one accounting event (an invoice, a
payment, a write-off) and its ``LedgerPosting`` rows move integer minor units between
accounts: debit positive, credit negative, summing to zero. The receivable account keeps a
sub-ledger per customer account: each of its postings names the customers' ``Account``.

The database enforces the books (migration 0010): a transaction that does not balance is
refused at commit, postings and transactions are never updated or deleted (a correction is
a reversing transaction), and a balance is always a sum of postings (the
``billing_ledger_balance`` view), never a stored number that can drift.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope, through
from customers.models import Account


class AccountKind(StrEnum):
    """Where a ledger account sits in the balance sheet or the income statement. A debit
    (positive amount) increases an asset or an expense, a credit (negative) the others."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"  # the offset of opening balances taken over from a legacy system
    REVENUE = "revenue"
    EXPENSE = "expense"


class TransactionKind(StrEnum):
    """The business document an accounting event comes from."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    FEE = "fee"
    INTEREST = "interest"
    WRITE_OFF = "write_off"
    OPENING_BALANCE = "opening_balance"
    DEPOSIT = "deposit"  # a guarantee deposit used or refunded at termination


def _one_of(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class LedgerAccount(IdMixin, TimestampMixin, Base):
    """An account of the chart of accounts, named by a stable code (``receivable``,
    ``revenue:energy``, ``tax:vat``). ``per_customer_account``: the account keeps a
    sub-ledger per customer account (the receivable control account)."""

    __tablename__ = "billing_ledger_account"
    __table_args__ = (CheckConstraint(_one_of("kind", AccountKind), name="kind_known"),)

    __territory__ = GLOBAL  # one chart of accounts for the whole utility

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    per_customer_account: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )


class LedgerTransaction(IdMixin, Base):
    """One accounting event on a business date of the local calendar, in one currency,
    from one source document (``source_ref``: an invoice or receipt number). A reversal
    names the transaction it cancels (``reverses_id``, at most one reversal each)."""

    __tablename__ = "billing_ledger_transaction"
    __table_args__ = (
        CheckConstraint(_one_of("kind", TransactionKind), name="kind_known"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        Index(
            "uq_billing_ledger_transaction_source",
            "kind",
            "source_ref",
            unique=True,
            postgresql_where=text("reverses_id IS NULL AND source_ref IS NOT NULL"),
        ),
    )

    # The whole-utility journal holds no located thing; a customer's postings are placed
    # by their account (LedgerPosting).
    __territory__ = GLOBAL

    entry_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    source_ref: Mapped[str | None] = mapped_column(Text)
    memo: Mapped[str] = mapped_column(Text, default="", server_default="")
    reverses_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT"),
        unique=True,
    )
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerPosting(IdMixin, Base):
    """One line of a transaction: ``amount`` minor units on ``account_id``, debit positive
    and credit negative; ``customer_account_id`` exactly when the account keeps a sub-ledger
    per customer account (a trigger of migration 0010 checks it)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """A customer's posting is seen where its account is; the utility's own postings
        (cash, revenue, taxes) are not a customer's and stay with unrestricted staff."""
        return through(Account, LedgerPosting.customer_account_id, scope)

    __tablename__ = "billing_ledger_posting"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_nonzero"),)

    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_account.id", ondelete="RESTRICT"), index=True
    )
    customer_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
