"""Invoice queries: documents the actor may see, their lines, the issued bills of a usage
point, and the facts a bill is made of (contract, account, usage point, consumption)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, func, select, text
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from billing.invoices.enums import InvoiceKind, InvoiceReason, InvoiceStatus
from billing.invoices.errors import InvoiceNotFoundError
from billing.invoices.models import Invoice, InvoiceLine
from core.context import Actor
from core.pages import paginate
from core.periods import Period
from core.territory import visible
from customers.models import Account, Contract, UsagePoint
from meters.consumption.service import consumption_for


def get_invoice(session: Session, actor: Actor, invoice_id: int, *, lock: bool = False) -> Invoice:
    """A document the actor sees (404 otherwise: outside the territory looks missing)."""
    query = select(Invoice).where(Invoice.id == invoice_id, visible(actor, Invoice))
    if lock:
        query = query.with_for_update()
    invoice = session.scalars(query).one_or_none()
    if invoice is None:
        raise InvoiceNotFoundError(f"no invoice {invoice_id}")
    return invoice


def by_number(session: Session, actor: Actor, number: str) -> Invoice:
    invoice = session.scalars(
        select(Invoice).where(Invoice.number == number, visible(actor, Invoice))
    ).one_or_none()
    if invoice is None:
        raise InvoiceNotFoundError(f"no invoice {number}")
    return invoice


def lines_of(session: Session, invoice_id: int) -> list[InvoiceLine]:
    return list(
        session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
    )


def invoices_page(
    session: Session,
    actor: Actor,
    *,
    account_id: int | None = None,
    usage_point_id: int | None = None,
    run_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Invoice], int]:
    """Documents the actor sees, newest number first, optionally of one account, usage
    point or run."""
    query = select(Invoice).where(visible(actor, Invoice))
    if account_id is not None:
        query = query.where(Invoice.account_id == account_id)
    if usage_point_id is not None:
        query = query.where(Invoice.usage_point_id == usage_point_id)
    if run_id is not None:
        query = query.where(Invoice.run_id == run_id)
    return paginate(session, query.order_by(Invoice.id.desc()), offset=offset, limit=limit)


def issued_overlapping(session: Session, usage_point_id: int, period: Period) -> Invoice | None:
    """An issued bill of the usage point sharing a day with ``period`` (the exclusion
    constraint's condition, asked first for a clear message)."""
    return session.scalars(
        select(Invoice)
        .where(
            Invoice.usage_point_id == usage_point_id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.reason != InvoiceReason.BACK_BILLING,
            Invoice.period_start < period.end,
            Invoice.period_end > period.start,
        )
        .limit(1)
    ).first()


def billed_until(session: Session, usage_point_id: int, contract_id: int) -> date | None:
    """The end of the last issued bill of this contract at this usage point."""
    found = session.scalar(
        select(func.max(Invoice.period_end)).where(
            and_(
                Invoice.usage_point_id == usage_point_id,
                Invoice.contract_id == contract_id,
                Invoice.kind == InvoiceKind.INVOICE,
                Invoice.status == InvoiceStatus.ISSUED,
                Invoice.reason != InvoiceReason.BACK_BILLING,
            )
        )
    )
    return found


@dataclass(frozen=True)
class Billable:
    """Who and what a bill is for: the contract, its account and usage point."""

    contract: Contract
    account: Account
    usage_point: UsagePoint

    @property
    def connection_type(self) -> str:
        return connection_type(self.usage_point.phases)

    @property
    def subscribed_kva(self) -> Decimal:
        return Decimal(str(self.contract.subscribed_power_kva))


def connection_type(phases: int) -> str:
    """The tariff's connection type of a usage point with ``phases`` phases."""
    return "three_phase" if phases == 3 else "single_phase"


def billable(session: Session, contract_id: int) -> Billable:
    contract = session.get(Contract, contract_id)
    assert contract is not None
    account = session.get(Account, contract.account_id)
    usage_point = session.get(UsagePoint, contract.usage_point_id)
    assert account is not None and usage_point is not None
    return Billable(contract, account, usage_point)


@dataclass(frozen=True)
class Measured:
    """A period's consumption per register, and whether an estimate is in it."""

    kwh: dict[str, Decimal]
    intervals: int
    estimated: bool
    meter_changed: bool


def window(period: Period, *, opening_day: bool = True, closing_day: bool = False) -> Period:
    """The local days whose reads close a bill's intervals (billing by read): the
    period's days; without its first day when that day's read is the opening index of
    a contract started then (it closed the previous occupant's final bill); with the day
    after its end for a final bill (the final reading is taken on the move-out day,
    ``end_date``, the first day without supply)."""
    start = period.start if opening_day else period.start + timedelta(days=1)
    end = period.end + timedelta(days=1) if closing_day else period.end
    return Period(start, max(end, start + timedelta(days=1)))


def measured(session: Session, usage_point_ids: list[int], days: Period) -> dict[int, Measured]:
    """Consumption per usage point over the local ``days`` (meters' consumption service,
    billing by read); usage points with no interval closed in them are absent."""
    start, end = days.bounds_utc()
    found: dict[int, Measured] = {}
    for c in consumption_for(session, usage_point_ids, start, end):
        m = found.get(c.usage_point_id)
        kwh = {**(m.kwh if m else {}), c.register_code: c.kwh}
        found[c.usage_point_id] = Measured(
            kwh,
            (m.intervals if m else 0) + c.intervals,
            (m.estimated if m else False) or c.includes_estimate,
            (m.meter_changed if m else False) or c.meter_changed,
        )
    return found


def kwh_history(session: Session, usage_point_ids: list[int], before: date) -> dict[int, Decimal]:
    """The mean monthly kWh of each usage point's last three issued bills before
    ``before`` (the control's reference for "far from history")."""
    rows = session.execute(
        select(Invoice.usage_point_id, Invoice.kwh, Invoice.period_start, Invoice.period_end)
        .where(
            # One array parameter, not one placeholder per id (a chunk has thousands).
            Invoice.usage_point_id == func.any(sa_cast(list(usage_point_ids), ARRAY(BigInteger))),
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.reason != InvoiceReason.BACK_BILLING,
            Invoice.period_end <= before,
        )
        .order_by(Invoice.usage_point_id, Invoice.period_end.desc())
    ).all()
    kept: dict[int, list[Decimal]] = {}
    for up, kwh, start, end in rows:
        got = kept.setdefault(up, [])
        if len(got) < 3:
            days = Decimal((end - start).days) or Decimal(1)
            got.append(Decimal(kwh) * Decimal(30) / days)
    return {up: sum(v, Decimal(0)) / len(v) for up, v in kept.items()}


def consumption_comparison(
    session: Session, account_id: int, months: int = 24
) -> list[dict[str, Any]]:
    """Billed kWh of an account per billing month (its bills' period start), with the same
    month a year before and the median of similar homes (same category, same month, all
    issued bills): what the portal's consumption chart shows."""
    rows = session.execute(
        text(
            """
            WITH mine AS (
                SELECT date_trunc('month', period_start)::date AS month, category,
                       sum(kwh) AS kwh
                FROM billing_invoice
                WHERE account_id = :account AND kind = 'invoice' AND status = 'issued'
                GROUP BY 1, 2
            )
            SELECT m.month, m.kwh,
                   (SELECT p.kwh FROM mine p WHERE p.month = (m.month - interval '1 year')::date)
                       AS last_year,
                   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY i.kwh)
                      FROM billing_invoice i
                     WHERE i.category = m.category AND i.kind = 'invoice'
                       AND i.status = 'issued'
                       AND date_trunc('month', i.period_start)::date = m.month) AS similar
            FROM mine m ORDER BY m.month DESC LIMIT :months
            """
        ),
        {"account": account_id, "months": months},
    )
    return [
        {
            "month": month.strftime("%Y-%m"),
            "kwh": Decimal(kwh),
            "last_year_kwh": Decimal(last) if last is not None else None,
            "similar_homes_median_kwh": Decimal(str(similar)) if similar is not None else None,
        }
        for month, kwh, last, similar in reversed(rows.all())
    ]
