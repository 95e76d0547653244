"""Invoices, credit notes, their lines and their numbering series.

An ``Invoice`` row is a numbered billing document as the customer receives it: a bill
(``kind = invoice``) or a credit note (``kind = credit_note``, the negative mirror of the
bill it cancels). Documents are created issued, never drafted here (a billing run's
simulation is the draft). Once written the database keeps them honest (migration 0013):

- an issued document is never edited nor deleted: the only change allowed is its status
  ``issued`` -> ``credited`` when a credit note cancels it (trigger
  ``billing_invoice_immutable``); lines are append-only;
- numbers are consecutive per series with no gap: a counter row per series
  (``InvoiceSeries``) is locked by the issuing transaction, and a trigger refuses a number
  whose predecessor in the series does not exist (with no deletes, that proves 1..n);
- issued bills of one usage point never overlap in time (exclusion constraint on
  ``daterange(period_start, period_end)``; a credited bill leaves it, so that its re-bill
  can take the period).

Amounts are integer minor units of ``currency`` (core.money); ``period_end`` is exclusive.
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
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.auth.models import DEFAULT_COMPANY_ID
from core.models import Base, IdMixin
from core.territory import COMPANY, Scope, through
from customers.models import Account


class InvoiceSeries(IdMixin, Base):
    """A numbering series of billing documents ("F" for invoices, "AV" for credit notes):
    ``last_number`` is the last number issued in it. The issuing transaction locks the row
    (``SELECT ... FOR UPDATE``), so two issuers never take the same number and a rolled
    back issue gives its numbers back (no gap)."""

    __tablename__ = "billing_invoice_series"
    __table_args__ = (
        CheckConstraint("last_number >= 0", name="last_number_positive"),
        Index(
            "uq_billing_invoice_series_company_kind",
            "company_id",
            "kind",
            unique=True,
            postgresql_where=text("kind IS NOT NULL"),
        ),
    )

    # Each company numbers its own documents, one series per kind (a legal requirement).
    __territory__ = COMPANY

    series: Mapped[str] = mapped_column(Text, unique=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("core_company.id", ondelete="RESTRICT"),
        default=DEFAULT_COMPANY_ID,
        server_default=str(DEFAULT_COMPANY_ID),
        index=True,
    )
    # The document kind (InvoiceKind) the company issues in this series by default.
    kind: Mapped[str | None] = mapped_column(Text)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Invoice(IdMixin, Base):
    """An issued billing document of a customer account for one usage point and period:
    a bill or a credit note, with its totals, its payment reference (ISO 11649 RF) and the
    ledger transaction it posted."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where the billed account is seen (like its ledger postings)."""
        return through(Account, Invoice.account_id, scope)

    __tablename__ = "billing_invoice"
    __table_args__ = (
        UniqueConstraint("series", "seq"),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_known"),
        CheckConstraint("status IN ('issued', 'credited')", name="status_known"),
        CheckConstraint(
            "reason IN ('cycle', 'rebill', 'true_up', 'final', 'correction', 'back_billing')",
            name="reason_known",
        ),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("period_end > period_start", name="period_ordered"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("total = net + taxes + rounding", name="total_adds_up"),
        CheckConstraint(
            "(kind = 'credit_note') = (credits_invoice_id IS NOT NULL)", name="credit_names_bill"
        ),
        CheckConstraint("kind = 'invoice' OR status = 'issued'", name="credit_note_final"),
        # A usage point is billed once for any day: issued bills never overlap. A credited
        # bill leaves the constraint (its credit note cancels it) so a re-bill can follow.
        ExcludeConstraint(
            (text("usage_point_id"), "="),
            (text("daterange(period_start, period_end, '[)')"), "&&"),
            name="ex_billing_invoice_usage_point_period",
            using="gist",
            # A back-bill (NTL case) claims energy of months already billed: it stays out.
            where=text("kind = 'invoice' AND status = 'issued' AND reason <> 'back_billing'"),
        ),
        Index("ix_billing_invoice_usage_point_period", "usage_point_id", "period_start"),
        Index(
            "uq_billing_invoice_credits_invoice_id",
            "credits_invoice_id",
            unique=True,
            postgresql_where=text("credits_invoice_id IS NOT NULL"),
        ),
        Index(
            "ix_billing_invoice_replaces_invoice_id",
            "replaces_invoice_id",
            postgresql_where=text("replaces_invoice_id IS NOT NULL"),
        ),
    )

    series: Mapped[str] = mapped_column(
        Text, ForeignKey("billing_invoice_series.series", ondelete="RESTRICT")
    )
    seq: Mapped[int] = mapped_column(BigInteger)  # consecutive within the series
    number: Mapped[str] = mapped_column(Text, unique=True)  # series-seq, as printed
    kind: Mapped[str] = mapped_column(Text)  # InvoiceKind
    status: Mapped[str] = mapped_column(Text, default="issued", server_default="issued")
    reason: Mapped[str] = mapped_column(Text)  # InvoiceReason
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id", ondelete="RESTRICT")
    )
    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id", ondelete="RESTRICT"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_run.id", ondelete="RESTRICT"), index=True
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(Text)
    # What was rated, so the bill can be rated again exactly (re-bill, true-up, audit).
    tariff_code: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    connection_type: Mapped[str] = mapped_column(Text)
    subscribed_kva: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    consumption: Mapped[dict[str, Any]] = mapped_column(JSONB)  # register -> kWh (text)
    kwh: Mapped[Decimal] = mapped_column(Numeric(14, 3))  # billed kWh, all registers
    estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    net: Mapped[int] = mapped_column(BigInteger)
    taxes: Mapped[int] = mapped_column(BigInteger)
    rounding: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    # A credit note names the bill it cancels (at most one each); a re-bill, true-up or
    # delta names the bill it follows.
    # (Indexes partial, migration 0031: a run's million bills name neither.)
    credits_invoice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_invoice.id", ondelete="RESTRICT")
    )
    replaces_invoice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_invoice.id", ondelete="RESTRICT")
    )
    payment_reference: Mapped[str] = mapped_column(Text)  # ISO 11649 "RF.."
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    issued_by: Mapped[str] = mapped_column(Text)
    issued_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InvoiceLine(IdMixin, Base):
    """One printed line of a document: the rating function's ``BillLine`` as issued
    (a credit note's lines are its bill's with opposite amounts). Append-only."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its document is seen."""
        return through(Invoice, InvoiceLine.invoice_id, scope)

    __tablename__ = "billing_invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    invoice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_invoice.id", ondelete="RESTRICT")
    )
    position: Mapped[int] = mapped_column(SmallInteger)  # order of the rating's lines
    kind: Mapped[str] = mapped_column(Text)  # billing.tariffs.definition.LineKind
    component: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)  # exclusive
    quantity: Mapped[Decimal] = mapped_column(Numeric)
    unit: Mapped[str] = mapped_column(Text)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    tax_base: Mapped[int | None] = mapped_column(BigInteger)
    block: Mapped[int | None] = mapped_column(Integer)
