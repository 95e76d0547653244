"""Shapes of the 360° views of a customer and of a premises."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from customers.schemas import Occupant


class PhoneOut(BaseModel):
    e164: str
    raw: str
    kind: str
    is_primary: bool


class EmailOut(BaseModel):
    email: str
    is_primary: bool


class DocumentOut(BaseModel):
    document_type: str
    number: str
    issuing_country: str
    valid_until: date | None


class PartyOut(BaseModel):
    id: int
    kind: str
    display_name: str
    first_name: str | None
    last_name: str | None
    organisation_name: str | None
    status: str
    language: str
    birth_date: date | None
    agency_id: int | None
    parent_party_id: int | None
    created_at: datetime
    phones: list[PhoneOut]
    emails: list[EmailOut]
    identity_documents: list[DocumentOut]


class AccountOut(BaseModel):
    id: int
    number: str
    payer_party_id: int
    payer_name: str
    delivery_channel: str
    status: str


class RoleOut(BaseModel):
    party_id: int
    display_name: str
    role: str


class TransitionOut(BaseModel):
    event: str
    from_status: str
    to_status: str
    reason: str | None
    actor: str
    at: datetime


class ContractOut(BaseModel):
    id: int
    number: str
    status: str
    start_date: date
    end_date: date | None
    tariff_code: str
    subscribed_power_kva: Decimal
    usage_point_id: int
    usage_point_code: str
    holder_party_id: int
    holder_name: str
    account_id: int
    account_number: str
    roles: list[RoleOut]
    history: list[TransitionOut]


class ElectricalAddress(BaseModel):
    """Where the premises hangs on the network, read live from the traced service point."""

    service_point_id: int | None
    service_point_code: str | None
    feeder_id: int | None
    feeder_code: str | None
    transformer_id: int | None
    transformer_code: str | None


class PremisesOut(BaseModel):
    id: int
    code: str
    address_line: str
    unit: str | None
    district: str | None
    city: str | None
    region: str | None
    landmark: str | None
    location: dict[str, Any] | None = Field(description="RFC 7946 Point (EPSG:4326) or null")
    electrical_address: ElectricalAddress


class MeterOut(BaseModel):
    """A meter as installed at the usage point (one row per installation)."""

    meter_id: int
    serial: str
    meter_type: str
    make: str
    model: str
    dial_digits: int
    multiplier: Decimal
    status: str
    installation_id: int
    register_set: str
    installed_at: datetime
    removed_at: datetime | None
    start_index: Decimal | None
    end_index: Decimal | None
    removal_reason: str | None


class ReadingOut(BaseModel):
    id: int
    read_at: datetime
    meter_id: int
    meter_serial: str
    value: Decimal
    source: str
    quality: str
    status: str
    reason_codes: list[str]
    estimation_method: str | None


class MonthlyConsumption(BaseModel):
    """kWh of one month of the utility's local calendar, derived from the indexes (intervals
    closed in it)."""

    month: str = Field(description="YYYY-MM")
    kwh: Decimal
    intervals: int
    includes_estimate: bool
    meter_changed: bool
    has_actual_read: bool


class UsagePointOut(BaseModel):
    id: int
    code: str
    category: str
    commodity: str
    subscribed_power_kva: Decimal
    phases: int
    connection_state: str
    connection_state_at: datetime
    premises: PremisesOut
    meters: list[MeterOut]
    readings: list[ReadingOut]
    consumption: list[MonthlyConsumption]


class CaseHistoryOut(BaseModel):
    event: str
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    at: datetime


class CaseOut(BaseModel):
    id: int
    number: str
    case_type: str
    status: str
    priority: str
    subject: str
    party_id: int | None
    service_location_id: int | None
    usage_point_id: int | None
    opened_at: datetime
    due_date: date
    sla_breached: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    history: list[CaseHistoryOut]


class InteractionOut(BaseModel):
    id: int
    party_id: int
    case_id: int | None
    channel: str
    direction: str
    occurred_at: datetime
    subject: str


class Window(BaseModel):
    """The period the readings and the monthly consumption cover."""

    readings_from: datetime
    months: list[str]


class LedgerDocumentOut(BaseModel):
    """An invoice, credit note or payment on an account's ledger: its amount on the
    receivable in minor units (positive owed, negative paid or credited)."""

    transaction_id: int
    entry_date: date
    kind: str
    source_ref: str | None
    currency: str
    reverses_id: int | None
    amount: int
    invoice_id: int | None = None  # the invoice page, for an invoice or credit note


class AccountBillingOut(BaseModel):
    """An account's balance per currency (minor units; positive: owed) and its latest
    invoices and payments."""

    account_id: int
    number: str
    balance: dict[str, int]
    invoices: list[LedgerDocumentOut]
    payments: list[LedgerDocumentOut]


class BillingOut(BaseModel):
    accounts: list[AccountBillingOut]


class PaymentOut(BaseModel):
    """A payment as the customer desk sees it: channel, instrument and state."""

    id: int
    number: str
    received_at: datetime
    channel: str
    instrument: str
    amount: int
    currency: str
    status: str  # posted / reversed (a bounced cheque, a returned debit)
    cleared: bool


class PurchaseOut(BaseModel):
    """A prepaid purchase: the energy and the token."""

    id: int
    vended_at: datetime
    meter_serial: str
    amount: int
    kwh: str
    token: str
    currency: str
    status: str


class MandateOut(BaseModel):
    reference: str
    iban: str


class AccountPaymentsOut(BaseModel):
    account_id: int
    number: str
    payments: list[PaymentOut]
    purchases: list[PurchaseOut]
    mandate: MandateOut | None = None


class PaymentsOut(BaseModel):
    accounts: list[AccountPaymentsOut]


class Customer360(BaseModel):
    """Everything known about one customer."""

    party: PartyOut
    accounts: list[AccountOut]
    contracts: list[ContractOut]
    usage_points: list[UsagePointOut]
    cases: list[CaseOut]
    interactions: list[InteractionOut]
    window: Window
    billing: BillingOut | None = None
    payments: PaymentsOut | None = None


class Premises360(BaseModel):
    """Everything known about one premises, its occupants over time included."""

    premises: PremisesOut
    usage_points: list[UsagePointOut]
    contracts: list[ContractOut]
    occupants: list[Occupant]
    cases: list[CaseOut]
    interactions: list[InteractionOut]
    window: Window
