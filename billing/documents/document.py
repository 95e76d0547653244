"""What a printed invoice shows, as plain data (no database): :class:`InvoiceDocument`.

Amounts are integer minor units of ``currency`` (core.money), quantities exact Decimals,
dates business dates of the local calendar; periods are ``[start, end)`` like every
period in Kilowatch (the page prints the last day, ``end - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from billing.documents.reference import invoice_reference
from billing.tariffs.definition import LineKind
from billing.tariffs.rating import Bill


@dataclass(frozen=True)
class Utility:
    """The issuer's letterhead and where to pay."""

    name: str
    address: tuple[str, ...] = ()
    tax_id: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    bank_account: str = ""  # an IBAN, or the account number printed for transfers
    bic: str = ""


@dataclass(frozen=True)
class Customer:
    """Who the invoice is addressed to, and where the supply is."""

    name: str
    address: tuple[str, ...] = ()
    account_number: str = ""
    usage_point_code: str = ""
    supply_address: tuple[str, ...] = ()
    meter_serial: str = ""


@dataclass(frozen=True)
class Line:
    """A printed line: ``quantity`` ``unit`` at ``unit_price`` is ``amount``. For a tax the
    quantity is its base (major units) and the price its rate (``Decimal('0.18')``)."""

    kind: str  # billing.tariffs.definition.LineKind
    label: str
    amount: int
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    start: date | None = None
    end: date | None = None  # exclusive

    @property
    def is_tax(self) -> bool:
        return self.kind == LineKind.TAX.value


@dataclass(frozen=True)
class Reading:
    """A register's indexes on the invoice (``estimated``: the closing one is estimated)."""

    register: str
    previous: Decimal | None
    current: Decimal | None
    kwh: Decimal
    estimated: bool = False


@dataclass(frozen=True)
class HistoryPoint:
    """One period of the consumption history chart (``label`` ``YYYY-MM``)."""

    label: str
    kwh: Decimal
    estimated: bool = False


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything the printed invoice shows."""

    number: str
    issue_date: date
    due_date: date
    period_start: date
    period_end: date  # exclusive
    currency: str
    utility: Utility
    customer: Customer
    lines: tuple[Line, ...]
    tariff: str = ""
    language: str = "fr"
    kind: str = "invoice"  # invoice | credit_note
    readings: tuple[Reading, ...] = ()
    history: tuple[HistoryPoint, ...] = ()
    previous_balance: int = 0  # owed before this invoice (negative: a credit)
    payment_reference: str = ""  # RF reference; made from the number when empty
    notes: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def net(self) -> int:
        return sum(line.amount for line in self.lines if not line.is_tax)

    @property
    def taxes(self) -> int:
        return sum(line.amount for line in self.lines if line.is_tax)

    @property
    def total(self) -> int:
        """The invoice's own total: every line, taxes and rounding included."""
        return sum(line.amount for line in self.lines)

    @property
    def amount_due(self) -> int:
        """What to pay by the due date: this invoice and what was owed before."""
        return self.total + self.previous_balance

    @property
    def reference(self) -> str:
        return self.payment_reference or invoice_reference(self.number)

    @property
    def period_last_day(self) -> date:
        return self.period_end - timedelta(days=1)


def lines_from_bill(bill: Bill) -> tuple[Line, ...]:
    """The printed lines of a rated bill (``billing.tariffs.rating.rate``), in its order."""
    return tuple(
        Line(
            kind=line.kind.value,
            label=line.label,
            amount=line.amount,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            start=line.start,
            end=line.end,
        )
        for line in bill.lines
    )
