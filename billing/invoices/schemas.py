"""Pydantic schemas of invoices and credit notes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class InvoiceLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    kind: str
    component: str
    label: str
    start_date: date
    end_date: date
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    amount: int = Field(description="minor units of the invoice's currency")
    tax_base: int | None
    block: int | None


class InvoiceSummary(BaseModel):
    """An issued bill or credit note (amounts in minor units of ``currency``)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    series: str
    seq: int
    kind: str
    status: str
    reason: str
    account_id: int
    usage_point_id: int
    contract_id: int
    run_id: int | None
    period_start: date
    period_end: date = Field(description="exclusive")
    issue_date: date
    due_date: date
    currency: str
    tariff_code: str
    kwh: Decimal
    estimated: bool
    net: int
    taxes: int
    rounding: int
    total: int
    credits_invoice_id: int | None
    replaces_invoice_id: int | None
    payment_reference: str = Field(description="ISO 11649 creditor reference")
    ledger_transaction_id: int | None
    note: str
    issued_by: str
    created_at: datetime


class InvoiceRead(InvoiceSummary):
    consumption: dict[str, str]
    category: str
    connection_type: str
    subscribed_kva: Decimal | None
    lines: list[InvoiceLineRead]


class CreditCreate(BaseModel):
    """Cancel an issued bill with a credit note."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=1000, description="why (printed on it)")


class RebillCreate(BaseModel):
    """Credit a bill and bill its period again: on ``kwh`` per register, or (omitted) on
    the consumption the meters give now."""

    model_config = ConfigDict(extra="forbid")

    kwh: dict[str, Decimal] | None = Field(None, max_length=20)
    note: str = Field(min_length=1, max_length=1000)


class CorrectionRead(BaseModel):
    credit_note: InvoiceRead
    invoice: InvoiceRead
