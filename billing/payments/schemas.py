"""API shapes of payments. Amounts are integer minor units of ``currency`` (ISO 4217)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from billing.payments.enums import Channel, Instrument, ItemKind
from core.pages import BIGINT_MAX

Amount = Annotated[int, Field(gt=0, le=10**15, description="integer minor units")]
RefId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class PaymentCreate(BaseModel):
    """Money received for a customer account. ``external_id`` is the channel's own
    transaction id (a bank entry reference, a mobile-money receipt): a second payment with
    the same channel and id is refused."""

    model_config = ConfigDict(extra="forbid")

    customer_account_id: RefId
    amount: Amount
    currency: Currency | None = None  # the utility's currency when absent
    channel: Channel = Channel.DESK
    instrument: Instrument = Instrument.CASH
    external_id: ShortText | None = None
    reference: ShortText | None = None
    payer_name: ShortText | None = None
    received_at: datetime | None = None  # now when absent
    value_date: date | None = None  # the local date of ``received_at`` when absent
    cash_session_id: RefId | None = None


class AllocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payment_id: int
    item_id: int
    amount: int
    allocated_at: datetime
    released_at: datetime | None
    release_reason: str | None


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    customer_account_id: int
    channel: str
    instrument: str
    external_id: str | None
    amount: int
    currency: str
    received_at: datetime
    value_date: date
    status: str
    cleared: bool
    reference: str | None
    payer_name: str | None
    cash_session_id: int | None
    ledger_transaction_id: int
    reversal_transaction_id: int | None
    reversal_reason: str | None
    unallocated: int = 0  # what is left as the account's credit


class ReceivableItemCreate(BaseModel):
    """A fee or interest charged to a customer account: posted to the ledger (receivable
    debit, fee or interest revenue credit) and opened for allocation."""

    model_config = ConfigDict(extra="forbid")

    customer_account_id: RefId
    kind: ItemKind
    document_ref: ShortText
    due_date: date
    amount: Amount
    currency: Currency | None = None
    memo: Annotated[str, StringConstraints(max_length=500)] = ""


class ReceivableItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_account_id: int
    kind: str
    document_ref: str
    due_date: date
    amount: int
    currency: str
    open_amount: int = 0


class AllocationTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: RefId
    amount: Amount


class ReallocateRequest(BaseModel):
    """Release the payment's allocations and allocate it again: to ``targets`` as given
    (the rest stays credit), or by the allocation policy when ``targets`` is absent."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    targets: list[AllocationTarget] | None = Field(default=None, max_length=200)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class AccountPosition(BaseModel):
    """A customer account's open items and credit, beside the ledger balance they explain:
    ``balance`` (ledger) = sum of open amounts - credit."""

    customer_account_id: int
    currency: str
    balance: int
    open_items: list[ReceivableItemRead]
    credit: int


class CashSessionOpen(BaseModel):
    """Open the caller's desk. ``agency_id``: for staff without an agency of their own."""

    model_config = ConfigDict(extra="forbid")

    agency_id: RefId | None = None
    business_date: date | None = None  # today (local calendar) when absent
    opening_float: Annotated[int, Field(ge=0, le=10**12)] = 0
    currency: Currency | None = None


class DenominationCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    denomination: Annotated[int, Field(gt=0, le=10**9, description="minor units")]
    pieces: Annotated[int, Field(ge=0, le=10**6)]


class CashCount(BaseModel):
    """The drawer counted at closing, note by note and coin by coin."""

    model_config = ConfigDict(extra="forbid")

    count: list[DenominationCount] = Field(max_length=50)


class CashSessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    cashier_id: int
    agency_id: int
    business_date: date
    currency: str
    status: str
    opening_float: int
    opened_at: datetime
    closed_at: datetime | None
    count: dict[str, int] | None
    counted_cash: int | None
    expected_cash: int | None
    difference: int | None


class DeskRead(BaseModel):
    """A desk as its cashier or a supervisor sees it: takings by instrument so far."""

    session: CashSessionRead
    cashier: str
    takings: dict[str, int]
    payments: int
    reversed: int
    deposited: int
    expected_cash: int


class DepositCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    bank_reference: ShortText
    deposited_on: date


class DepositRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    amount: int
    bank_reference: str
    deposited_on: date
    ledger_transaction_id: int


class CancellationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payment_id: int
    reason: str
    status: str
    requested_by: int | None
    decided_by: int | None
    decided_at: datetime | None


class StatementReport(BaseModel):
    """What a statement import did: payments posted, receipts queued, entries already
    known (posted nothing), entries skipped (debits, reversals, not booked)."""

    statement_id: int
    iban: str
    bank_statement_id: str
    payments: list[PaymentRead]
    unmatched: list[int]
    duplicates: list[str]
    skipped: int


class UnmatchedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    external_id: str
    amount: int
    currency: str
    received_at: datetime
    reference: str | None
    payer_name: str | None
    payer_account: str | None
    status: str
    payment_id: int | None


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_account_id: RefId


class MpesaC2B(BaseModel):
    """An M-Pesa C2B validation or confirmation request (Daraja's field names)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    transaction_type: Annotated[str, StringConstraints(max_length=50)] = Field(
        "Pay Bill", alias="TransactionType"
    )
    trans_id: Annotated[str, StringConstraints(min_length=1, max_length=50)] = Field(
        alias="TransID"
    )
    trans_time: Annotated[str, StringConstraints(max_length=20)] = Field("", alias="TransTime")
    trans_amount: Annotated[str, StringConstraints(min_length=1, max_length=30)] = Field(
        alias="TransAmount"
    )
    business_short_code: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", alias="BusinessShortCode"
    )
    bill_ref_number: Annotated[str, StringConstraints(max_length=100)] = Field(
        "", alias="BillRefNumber"
    )
    msisdn: Annotated[str, StringConstraints(max_length=30)] = Field("", alias="MSISDN")
    first_name: Annotated[str, StringConstraints(max_length=100)] = Field("", alias="FirstName")
    last_name: Annotated[str, StringConstraints(max_length=100)] = Field("", alias="LastName")


class MpesaResult(BaseModel):
    """Daraja's answer: ResultCode "0" accepts; "C2B00012" rejects an invalid account."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    result_code: str = Field(alias="ResultCode")
    result_desc: str = Field(alias="ResultDesc")


class AggregatorCallback(BaseModel):
    """A generic aggregator's notification (validation or confirmation)."""

    model_config = ConfigDict(extra="forbid")

    operator: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,30}$")]
    transaction_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Annotated[Decimal, Field(gt=0, le=Decimal(10**12), max_digits=18, decimal_places=4)]
    currency: Currency
    reference: Annotated[str, StringConstraints(max_length=100)] = ""
    msisdn: Annotated[str, StringConstraints(max_length=30)] | None = None
    payer_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    paid_at: datetime | None = None


class AggregatorResult(BaseModel):
    status: str  # accepted | rejected | posted | queued | duplicate
    customer_account_id: int | None = None
    payment_id: int | None = None
    detail: str = ""


class ReconciliationLine(BaseModel):
    transaction_id: str
    amount: int
    paid_on: date


class AmountDiffers(BaseModel):
    transaction_id: str
    ours: int
    theirs: int


class MissingHere(BaseModel):
    transaction_id: str
    amount: int


class ReconciliationRead(BaseModel):
    """Where the operator's daily statement and Kilowatch disagree."""

    day: date
    matched: int
    missing_in_kilowatch: list[ReconciliationLine]
    missing_in_statement: list[MissingHere]
    amount_differs: list[AmountDiffers]


class VendCreate(BaseModel):
    """Sell ``amount`` of prepaid energy to the meter of a contract."""

    model_config = ConfigDict(extra="forbid")

    contract_id: RefId
    meter_serial: ShortText
    amount: Amount
    instrument: Instrument = Instrument.CASH


class VendRead(BaseModel):
    """A purchase as its receipt shows it: the energy, the token, what the charge is made
    of (fixed charges at the month's first purchase, energy per block, taxes) and the
    money left as credit."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    contract_id: int
    meter_serial: str
    month: date
    amount: int
    charged: int
    currency: str
    kwh: Decimal
    month_kwh_before: Decimal
    token: str
    lines: list[dict[str, str | int]]
    payment_id: int
    status: str
    vended_at: datetime


class MandateCreate(BaseModel):
    """A signed SEPA direct-debit mandate. ``recurring``: the customer's bank has already
    been debited under it (a mandate taken over from another system): the next collection
    is RCUR, not FRST. No ``bic``: the one known for the IBAN's bank."""

    model_config = ConfigDict(extra="forbid")

    customer_account_id: RefId
    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=35)
    ]  # SEPA: at most 35 characters
    signed_on: date
    debtor_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70)
    ]
    iban: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=42)]
    bic: Annotated[str, StringConstraints(strip_whitespace=True, max_length=11)] | None = None
    recurring: bool = False


class MandateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_account_id: int
    reference: str
    signed_on: date
    debtor_name: str
    iban: str
    bic: str
    sequence: str  # FRST or RCUR: what the next collection is sent as
    status: str
    revoked_at: datetime | None
    revoke_reason: str | None


class DirectDebitBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection_date: date
    currency: Currency | None = None


class DirectDebitCollectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    mandate_id: int
    customer_account_id: int
    end_to_end_id: str
    sequence: str
    amount: int
    payment_id: int
    status: str
    return_reason: str | None
    returned_at: datetime | None
    fee_item_id: int | None


class DirectDebitBatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: str
    agency_id: int | None
    collection_date: date
    currency: str
    count: int
    total: int
    returned: int
    created_at: datetime
    collections: list[DirectDebitCollectionRead] = []


class DirectDebitReturnReport(BaseModel):
    returned: list[str]
    already: list[str]
    revoked_mandates: list[str]
    fees: int
