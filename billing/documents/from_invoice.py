"""An issued invoice (``billing.invoices``) as the :class:`InvoiceDocument` the PDF is
printed from: the stored lines and totals, the account's payer and language, the usage
point's premises and meter, the usage point's billed history, and what the account owed
before this invoice was posted (the ledger: a sum of postings, never a stored number).

The issuer comes from the settings (``KILOWATCH_UTILITY_*``). Registered as the print
batches' document source at import.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from billing.documents import batches
from billing.documents.document import (
    Customer,
    HistoryPoint,
    InvoiceDocument,
    Line,
    Utility,
)
from billing.documents.document import Reading as IndexLine
from billing.invoices import repository
from billing.invoices.models import Invoice
from billing.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from core.context import SYSTEM, Actor
from core.periods import add_months, local_midnight, month_start
from core.settings import get_settings
from customers.models import Account, Party, ServiceLocation, UsagePoint
from meters.consumption.service import consumption_for, total_kwh
from meters.enums import COUNTED_STATUSES
from meters.models import Meter, MeterInstallation, Reading, Register

HISTORY_PERIODS = 13


def utility() -> Utility:
    settings = get_settings()
    return Utility(
        name=settings.utility_name,
        address=tuple(p.strip() for p in settings.utility_address.split(";") if p.strip()),
        tax_id=settings.utility_tax_id,
        phone=settings.utility_phone,
        email=settings.utility_email,
        website=settings.utility_website,
        bank_account=settings.utility_bank_account,
        bic=settings.utility_bic,
    )


def _address(location: ServiceLocation) -> tuple[str, ...]:
    first = ", ".join(p for p in (location.address_line, location.unit) if p)
    second = ", ".join(p for p in (location.district, location.city) if p)
    return tuple(p for p in (first, second) if p)


def _meter_serial(session: Session, invoice: Invoice) -> str:
    """The meter fitted at the usage point on the period's last day (the one read)."""
    serial = session.scalar(
        select(Meter.serial)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .where(
            MeterInstallation.usage_point_id == invoice.usage_point_id,
            func.date(MeterInstallation.installed_at) < invoice.period_end,
            or_(
                MeterInstallation.removed_at.is_(None),
                func.date(MeterInstallation.removed_at) >= invoice.period_end - timedelta(days=1),
            ),
        )
        .order_by(MeterInstallation.installed_at.desc())
        .limit(1)
    )
    return serial or ""


def _history(session: Session, invoice: Invoice) -> tuple[HistoryPoint, ...]:
    """The usage point's kWh per month for the ``HISTORY_PERIODS`` months up to this
    invoice's: what was billed where an issued bill covers the month (a credited bill's
    re-bill stands for it), else what the meter measured (``meters.consumption``); months
    with neither (before supply began) are left out."""
    first = add_months(month_start(invoice.period_start), -(HISTORY_PERIODS - 1))
    billed = {
        start.strftime("%Y-%m"): (kwh, bool(estimated))
        for start, kwh, estimated in session.execute(
            select(Invoice.period_start, Invoice.kwh, Invoice.estimated)
            .where(
                Invoice.usage_point_id == invoice.usage_point_id,
                Invoice.kind == "invoice",
                or_(Invoice.status == "issued", Invoice.id == invoice.id),
                Invoice.period_start >= first,
                Invoice.period_start <= invoice.period_start,
            )
            .order_by(Invoice.period_start, Invoice.id)
        )
    }
    points = []
    for k in range(HISTORY_PERIODS):
        month = add_months(first, k)
        label = month.strftime("%Y-%m")
        if label in billed:
            kwh, estimated = billed[label]
            points.append(HistoryPoint(label, kwh, estimated))
            continue
        measured = consumption_for(
            session,
            [invoice.usage_point_id],
            local_midnight(month),
            local_midnight(add_months(month, 1)),
        )
        if measured:
            points.append(HistoryPoint(label, total_kwh(measured)))
    return tuple(points)


def _indexes(
    session: Session, invoice: Invoice, register: str
) -> tuple[Decimal | None, Decimal | None]:
    """The register's opening and closing indexes as the customer reads them on the
    meter: the last counted read before the period and the last one in it. Printed only
    when they account exactly for the kWh billed (one meter, no rollover, multiplier 1);
    otherwise (a meter change, an estimate billed without a read) the bill shows kWh
    only, never indexes that would not add up."""
    start, end = local_midnight(invoice.period_start), local_midnight(invoice.period_end)

    def last_before(moment: object, since: object | None = None) -> Decimal | None:
        query = (
            select(Reading.value)
            .join(Register, Register.id == Reading.register_id)
            .where(
                Reading.usage_point_id == invoice.usage_point_id,
                Register.code == register,
                Reading.status.in_([s.value for s in COUNTED_STATUSES]),
                Reading.read_at < moment,
            )
            .order_by(Reading.read_at.desc())
            .limit(1)
        )
        if since is not None:
            query = query.where(Reading.read_at >= since)
        return session.scalar(query)

    opening, closing = last_before(start), last_before(end, start)
    if opening is None:  # no read yet: the index the meter was fitted with
        fitted = session.scalar(
            select(MeterInstallation.start_indexes[register].astext)
            .where(
                MeterInstallation.usage_point_id == invoice.usage_point_id,
                MeterInstallation.installed_at < start,
            )
            .order_by(MeterInstallation.installed_at.desc())
            .limit(1)
        )
        opening = Decimal(fitted) if fitted is not None else None
    billed = Decimal(str((invoice.consumption or {}).get(register, "")) or "NaN")
    if opening is None or closing is None or closing - opening != billed:
        return None, None
    return opening, closing


def _owed_before(session: Session, invoice: Invoice) -> int:
    """The account's receivable in the invoice's currency from every transaction posted
    before the invoice's own."""
    conditions = [
        LedgerPosting.customer_account_id == invoice.account_id,
        LedgerAccount.per_customer_account.is_(True),
        LedgerTransaction.currency == invoice.currency,
    ]
    if invoice.ledger_transaction_id is not None:
        conditions.append(LedgerTransaction.id < invoice.ledger_transaction_id)
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
        .join(LedgerAccount, and_(LedgerAccount.id == LedgerPosting.account_id))
        .where(*conditions)
    )
    return int(total or 0)


def invoice_document(session: Session, actor: Actor, invoice_id: int) -> InvoiceDocument:
    """The printable document of invoice ``invoice_id`` (404 outside the territory)."""
    invoice = repository.get_invoice(session, actor, invoice_id)
    account = session.get(Account, invoice.account_id)
    point = session.get(UsagePoint, invoice.usage_point_id)
    assert account is not None and point is not None  # foreign keys
    payer = session.get(Party, account.payer_party_id)
    location = session.get(ServiceLocation, point.service_location_id)
    supply = _address(location) if location is not None else ()
    lines = tuple(
        Line(
            kind=line.kind,
            label=line.label,
            amount=line.amount,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            start=line.start_date,
            end=line.end_date,
        )
        for line in repository.lines_of(session, invoice.id)
    )
    readings = tuple(
        IndexLine(register, *_indexes(session, invoice, register), kwh_value, invoice.estimated)
        for register, kwh_value in sorted(
            (r, Decimal(str(v))) for r, v in (invoice.consumption or {}).items()
        )
    )
    notes = (invoice.note,) if invoice.note else ()
    return InvoiceDocument(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        utility=utility(),
        customer=Customer(
            name=payer.display_name if payer is not None else "",
            address=supply,
            account_number=account.number,
            usage_point_code=point.code,
            supply_address=supply,
            meter_serial=_meter_serial(session, invoice),
        ),
        lines=lines,
        tariff=invoice.tariff_code,
        language=account.language or (payer.language if payer is not None else "fr"),
        kind=invoice.kind,
        readings=readings,
        history=_history(session, invoice),
        previous_balance=_owed_before(session, invoice),
        payment_reference=invoice.payment_reference,
        notes=notes,
    )


def documents_of(session: Session, invoice_ids: Sequence[int]) -> Iterator[InvoiceDocument]:
    """Print batches' source: each invoice's document, in the order given (the batch was
    checked against its creator's territory; the worker reads as the system)."""
    for invoice_id in invoice_ids:
        yield invoice_document(session, SYSTEM, invoice_id)


batches.set_document_source(documents_of)
