"""Payments, the open items they pay, their allocations, cash desks, and what came in from
a bank or an operator without naming whom it pays.

A ``Payment`` is money received for a customer account, posted once to the ledger (clearing
account debit, receivable credit). The database refuses a second payment with the same
channel and operator transaction id. ``ReceivableItem`` rows are the open items of the
receivable (an invoice's principal, a fee, interest) and ``PaymentAllocation`` says which
payment paid how much of which item; what a payment has not allocated is the account's
credit, used by the next item.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.payments.enums import (
    CancellationStatus,
    Channel,
    Instrument,
    ItemKind,
    PaymentStatus,
    SessionStatus,
    UnmatchedStatus,
)
from core.models import Base, IdMixin, TimestampMixin, one_of
from core.territory import Scope, through
from customers.models import Account

CURRENCY_ISO = "currency ~ '^[A-Z]{3}$'"


class ReceivableItem(IdMixin, Base):
    """An open item of a customer account's receivable: the principal of an invoice, a fee
    or interest charged, with the date it falls due. What is left to pay is its amount less
    its active allocations. Invoices (billing runs) and fees fill this table."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, ReceivableItem.customer_account_id, scope)

    __tablename__ = "billing_receivable_item"
    __table_args__ = (
        CheckConstraint(one_of("kind", ItemKind), name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_ISO, name="currency_iso"),
        UniqueConstraint("document_ref", "kind", name="uq_billing_receivable_item_document"),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(Text)
    document_ref: Mapped[str] = mapped_column(Text)  # invoice number, fee reference ...
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    # The issued bill this item is the principal of (``billing.payments.open_items``).
    invoice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_invoice.id", ondelete="RESTRICT"), unique=True
    )
    # Set when the document is cancelled (a bill credited by a credit note): nothing is
    # open on it any more and its allocations are released.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CashDeskSession(IdMixin, TimestampMixin, Base):
    """A cashier's shift at an agency's cash desk on one business day: opened with a float,
    takings recorded against it, counted by denomination at closing (the difference with
    what the payments say is kept). At most one open session per cashier, agency and day
    (a partial unique index)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(CashDeskSession.agency_id)

    __tablename__ = "billing_cash_session"
    __table_args__ = (
        CheckConstraint(one_of("status", SessionStatus), name="status_known"),
        CheckConstraint(CURRENCY_ISO, name="currency_iso"),
        CheckConstraint("opening_float >= 0", name="float_not_negative"),
        Index(
            "uq_billing_cash_session_open",
            "cashier_id",
            "agency_id",
            "business_date",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    cashier_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="RESTRICT"), index=True
    )
    agency_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT"), index=True
    )
    business_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")
    opening_float: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # At closing: {"10000": 3, "500": 7} (denomination in minor units -> pieces counted).
    count: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    counted_cash: Mapped[int | None] = mapped_column(BigInteger)
    expected_cash: Mapped[int | None] = mapped_column(BigInteger)
    difference: Mapped[int | None] = mapped_column(BigInteger)  # counted - expected


class Payment(IdMixin, TimestampMixin, Base):
    """Money received for a customer account through one channel: a receipt at the desk,
    a bank transfer, a mobile-money transaction, a direct debit, a cheque. Posted to the
    ledger when recorded (``ledger_transaction_id``); a reversal (a bounced cheque, an
    approved cancellation) posts the mirror transaction and frees its allocations."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, Payment.customer_account_id, scope)

    __tablename__ = "billing_payment"
    __table_args__ = (
        CheckConstraint(one_of("channel", Channel), name="channel_known"),
        CheckConstraint(one_of("instrument", Instrument), name="instrument_known"),
        CheckConstraint(one_of("status", PaymentStatus), name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_ISO, name="currency_iso"),
        # Exactly once: an operator's transaction id names one payment per channel.
        UniqueConstraint("channel", "external_id", name="uq_billing_payment_channel_external_id"),
    )

    number: Mapped[str] = mapped_column(Text, unique=True)  # the receipt number
    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    channel: Mapped[str] = mapped_column(Text)
    instrument: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default="posted", server_default="posted")
    cleared: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    reference: Mapped[str | None] = mapped_column(Text)  # what the payer quoted
    payer_name: Mapped[str | None] = mapped_column(Text)
    cash_session_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_cash_session.id", ondelete="RESTRICT"), index=True
    )
    ledger_transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    reversal_transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    # A cheque: cleared (the bank paid it) or bounced (reversed, a fee charged).
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_prints: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )


class PaymentAllocation(IdMixin, Base):
    """``amount`` of a payment applied to an open item. Never deleted: the back office
    releases an allocation (who, when, why) and allocates again; only active allocations
    (not released) count."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, PaymentAllocation.customer_account_id, scope)

    __tablename__ = "billing_payment_allocation"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index(
            "ix_billing_payment_allocation_active_item",
            "item_id",
            postgresql_where=text("released_at IS NULL"),
        ),
        Index(
            "ix_billing_payment_allocation_active_payment",
            "payment_id",
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    payment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_payment.id", ondelete="RESTRICT")
    )
    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_receivable_item.id", ondelete="RESTRICT")
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    allocated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    allocated_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    release_reason: Mapped[str | None] = mapped_column(Text)


class PaymentCancellation(IdMixin, TimestampMixin, Base):
    """A cashier's request to cancel a payment (with its reason), and the supervisor's
    decision: another person, never the requester (a CHECK)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Payment, PaymentCancellation.payment_id, scope)

    __tablename__ = "billing_payment_cancellation"
    __table_args__ = (
        CheckConstraint(one_of("status", CancellationStatus), name="status_known"),
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="four_eyes"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
    )

    payment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_payment.id", ondelete="RESTRICT"), unique=True
    )
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="requested", server_default="requested")
    requested_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    decided_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CashDeposit(IdMixin, Base):
    """Takings of a cash desk session taken to the bank (the bank's slip reference),
    posted cash -> bank in the ledger."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(CashDeskSession, CashDeposit.session_id, scope)

    __tablename__ = "billing_cash_deposit"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_cash_session.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    bank_reference: Mapped[str] = mapped_column(Text, unique=True)
    deposited_on: Mapped[date] = mapped_column(Date)
    ledger_transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BankStatement(IdMixin, Base):
    """A bank account statement (camt.053) imported once: its identity (account and
    statement id) and the file's sha256 are unique, so a second import is recognised."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """An agency's own bank account; the utility's (no agency) only head office sees."""
        return scope.holds(BankStatement.agency_id)

    __tablename__ = "billing_bank_statement"
    __table_args__ = (
        UniqueConstraint("iban", "statement_id", name="uq_billing_bank_statement_identity"),
    )

    iban: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT")
    )
    statement_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(Text, unique=True)
    currency: Mapped[str] = mapped_column(Text)
    entries: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unmatched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    imported_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class UnmatchedReceipt(IdMixin, TimestampMixin, Base):
    """Money that came in (a bank credit, a mobile-money confirmation) naming no account
    Kilowatch could find: it waits here until someone matches it by hand, which posts the
    payment under the same channel and transaction id (so never twice)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Not placed by an account (none is known): by the agency whose bank account or
        till received it; with no agency, head office only."""
        return scope.holds(UnmatchedReceipt.agency_id)

    __tablename__ = "billing_unmatched_receipt"
    __table_args__ = (
        CheckConstraint(one_of("channel", Channel), name="channel_known"),
        CheckConstraint(one_of("status", UnmatchedStatus), name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint(
            "channel", "external_id", name="uq_billing_unmatched_receipt_channel_external_id"
        ),
    )

    channel: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reference: Mapped[str | None] = mapped_column(Text)
    payer_name: Mapped[str | None] = mapped_column(Text)
    payer_account: Mapped[str | None] = mapped_column(Text)  # IBAN, MSISDN
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT")
    )
    statement_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_bank_statement.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")
    payment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_payment.id", ondelete="RESTRICT")
    )
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class PrepaidVend(IdMixin, Base):
    """A prepaid purchase: money turned into energy for one meter through the tariff
    engine (the month's fixed charges at its first purchase, blocks counted across the
    month's purchases), with the token the meter accepts. A failed vend is reversed: its
    charge is cancelled and the money stays as the account's credit."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, PrepaidVend.customer_account_id, scope)

    __tablename__ = "billing_prepaid_vend"
    __table_args__ = (
        CheckConstraint("status IN ('vended', 'reversed')", name="status_known"),
        CheckConstraint("kwh > 0 AND charged > 0 AND charged <= amount", name="amounts_valid"),
        Index("ix_billing_prepaid_vend_meter_month", "meter_serial", "month"),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id", ondelete="RESTRICT")
    )
    meter_serial: Mapped[str] = mapped_column(Text)
    month: Mapped[date] = mapped_column(Date)  # first day of the local month
    amount: Mapped[int] = mapped_column(BigInteger)  # paid
    charged: Mapped[int] = mapped_column(BigInteger)  # the energy's price (the rest: credit)
    currency: Mapped[str] = mapped_column(Text)
    kwh: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    month_kwh_before: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    token: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # what the charge is made of
    payment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_payment.id", ondelete="RESTRICT")
    )
    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_receivable_item.id", ondelete="RESTRICT")
    )
    ledger_transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(Text, default="vended", server_default="vended")
    vended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DirectDebitMandate(IdMixin, TimestampMixin, Base):
    """A customer's signed SEPA mandate authorising the utility to debit a bank account
    (IBAN, BIC checked when taken): its unique reference, the date it was signed, and
    whether the next collection is the first (FRST) or a recurring one (RCUR). Revoked by
    the customer, or by a return saying the account or the mandate is no more."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, DirectDebitMandate.customer_account_id, scope)

    __tablename__ = "billing_dd_mandate"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'revoked')", name="status_known"),
        CheckConstraint("sequence IN ('FRST', 'RCUR')", name="sequence_known"),
        CheckConstraint("length(btrim(reference)) > 0", name="reference_given"),
        Index(
            "uq_billing_dd_mandate_active_account",
            "customer_account_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    reference: Mapped[str] = mapped_column(Text, unique=True)
    signed_on: Mapped[date] = mapped_column(Date)
    debtor_name: Mapped[str] = mapped_column(Text)
    iban: Mapped[str] = mapped_column(Text)
    bic: Mapped[str] = mapped_column(Text)
    sequence: Mapped[str] = mapped_column(Text, default="FRST", server_default="FRST")
    status: Mapped[str] = mapped_column(Text, default="active", server_default="active")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )


class DirectDebitBatch(IdMixin, Base):
    """A SEPA direct-debit batch (one pain.008 file sent to the utility's bank) collecting
    what the mandated accounts of an agency (or of the whole utility) owe on a date. Each
    collection is posted as a payment when the batch is made; a return reverses it."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Made for one agency's accounts; a utility-wide batch only head office sees."""
        return scope.holds(DirectDebitBatch.agency_id)

    __tablename__ = "billing_dd_batch"
    __table_args__ = (CheckConstraint(CURRENCY_ISO, name="currency_iso"),)

    message_id: Mapped[str] = mapped_column(Text, unique=True)
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT")
    )
    collection_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    returned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    xml: Mapped[str] = mapped_column(Text)  # the pain.008 sent
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DirectDebitCollection(IdMixin, Base):
    """One debit of a batch: a mandate, the amount asked, its end-to-end id (the key the
    bank's return quotes) and the payment posted for it; a return records the bank's
    reason code, the reversal and the return fee charged."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, DirectDebitCollection.customer_account_id, scope)

    __tablename__ = "billing_dd_collection"
    __table_args__ = (
        CheckConstraint("status IN ('collected', 'returned')", name="status_known"),
        CheckConstraint("sequence IN ('FRST', 'RCUR')", name="sequence_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    batch_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_dd_batch.id", ondelete="RESTRICT"), index=True
    )
    mandate_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_dd_mandate.id", ondelete="RESTRICT"), index=True
    )
    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    end_to_end_id: Mapped[str] = mapped_column(Text, unique=True)
    sequence: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    payment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_payment.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(Text, default="collected", server_default="collected")
    return_reason: Mapped[str | None] = mapped_column(Text)  # the ISO reason code (AM04 ...)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fee_item_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_receivable_item.id", ondelete="RESTRICT")
    )
