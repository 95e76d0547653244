"""The managers' loss dashboard: per zone (feeder or transformer zone) and month, the
energy in, the technical and non-technical losses and their ratios (fraud's zone
balances), and the same per agency and month (its transformer zones summed: a transformer
belongs to the agency whose territory holds it, the lowest id where two overlap; feeder
balances are left out of it, since a feeder's energy is its transformers' again); what revenue protection recovered (closed NTL cases: kWh and money); the
inspections done and their hit rate; cuts and restorations (counts, durations); the
collection rate (money received over money billed). Exported as CSV or XLSX.

Units: energy in kWh; shares as fractions (0.05 = 5 %); money in minor units; durations in
minutes. Every figure is limited to the caller's territory (zone balances by their zone,
cases, work orders and restorations by their usage point, invoices and payments by
their account).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.invoices.models import Invoice
from billing.payments.models import Payment
from core.context import Actor
from core.territory import rule_sql
from field.models import WorkOrder
from fraud.models import ZoneBalance
from revenue_protection.models import NtlCase, Restoration


class ZoneMonth(BaseModel):
    zone_kind: str
    zone_id: int  # the transformer's or the feeder's (the drill-down's parameter)
    zone_code: str
    month: date
    energy_in_kwh: float | None
    technical_loss_kwh: float | None
    ntl_kwh: float | None
    loss_ratio: float | None  # (technical + NTL) / energy in
    technical_ratio: float | None
    ntl_ratio: float | None


class AgencyMonth(BaseModel):
    """An agency's transformer zones over one month. Sums over the analysable zones only
    (a zone with missing data has no NTL: never counted as a zero)."""

    agency_id: int
    agency_code: str
    month: date
    zones: int  # transformer zones with a balance that month
    zones_analysable: int
    energy_in_kwh: float | None
    technical_loss_kwh: float | None
    ntl_kwh: float | None
    loss_ratio: float | None
    technical_ratio: float | None
    ntl_ratio: float | None


class Dashboard(BaseModel):
    first: date
    last: date  # exclusive
    zones: list[ZoneMonth]
    agencies: list[AgencyMonth]
    recovered_kwh: float
    recovered_amount: int
    inspections_done: int
    inspections_confirmed: int
    hit_rate: float | None
    cuts: int
    restorations: int
    restore_minutes_p50: float | None
    restore_minutes_p95: float | None
    billed: int
    collected: int
    collection_rate: float | None


def _where(actor: Actor, model: type, alias: str) -> str:
    rule = rule_sql(actor, model, alias)
    return f" AND {rule}" if rule else ""


_ZONES = """
SELECT CASE WHEN z.transformer_id IS NOT NULL THEN 'transformer' ELSE 'feeder' END,
       coalesce(z.transformer_id, z.feeder_id), coalesce(t.code, f.code), z.period_start,
       z.energy_in_kwh::float8,
       z.technical_loss_kwh::float8, z.ntl_kwh::float8
FROM fraud_zone_balance z
LEFT JOIN gis_power_transformer t ON t.id = z.transformer_id
LEFT JOIN gis_feeder f ON f.id = z.feeder_id
WHERE z.period_start >= :first AND z.period_start < :last {territory}
ORDER BY 1, 3, 4
"""


_AGENCIES = """
SELECT a.id, a.code, z.period_start, count(*), count(*) FILTER (WHERE z.analysable),
       (sum(z.energy_in_kwh) FILTER (WHERE z.analysable))::float8,
       (sum(z.technical_loss_kwh) FILTER (WHERE z.analysable))::float8,
       (sum(z.ntl_kwh) FILTER (WHERE z.analysable))::float8
FROM fraud_zone_balance z
JOIN gis_power_transformer t ON t.id = z.transformer_id
CROSS JOIN LATERAL (
  SELECT g.id, g.code FROM core_agency g WHERE ST_Intersects(t.geom, g.territory)
  ORDER BY g.id LIMIT 1
) a
WHERE z.period_start >= :first AND z.period_start < :last {territory}
GROUP BY 1, 2, 3
ORDER BY 2, 3
"""


def _agencies(session: Session, actor: Actor, p: dict[str, date]) -> list[AgencyMonth]:
    rows = session.execute(text(_AGENCIES.format(territory=_where(actor, ZoneBalance, "z"))), p)
    out = []
    for agency_id, code, month, zones, analysable, energy, tech, ntl in rows:
        lost = None if tech is None or ntl is None else tech + ntl
        out.append(
            AgencyMonth(
                agency_id=agency_id, agency_code=code, month=month, zones=zones,
                zones_analysable=analysable, energy_in_kwh=energy, technical_loss_kwh=tech,
                ntl_kwh=ntl, loss_ratio=_ratio(lost, energy), technical_ratio=_ratio(tech, energy),
                ntl_ratio=_ratio(ntl, energy),
            )
        )  # fmt: skip
    return out


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 6)


def build(session: Session, *, actor: Actor, first: date, last: date) -> Dashboard:
    """The figures for months ``first`` (inclusive) to ``last`` (exclusive)."""
    p = {"first": first, "last": last}
    zones = []
    for kind, zone_id, code, month, energy, tech, ntl in session.execute(
        text(_ZONES.format(territory=_where(actor, ZoneBalance, "z"))), p
    ):
        lost = None if tech is None or ntl is None else tech + ntl
        zones.append(
            ZoneMonth(
                zone_kind=kind, zone_id=zone_id, zone_code=code, month=month, energy_in_kwh=energy,
                technical_loss_kwh=tech, ntl_kwh=ntl, loss_ratio=_ratio(lost, energy),
                technical_ratio=_ratio(tech, energy), ntl_ratio=_ratio(ntl, energy),
            )
        )  # fmt: skip
    cases = session.execute(
        text(
            "SELECT coalesce(sum(recovered_kwh), 0)::float8, coalesce(sum(recovered_amount), 0),"
            " count(*) FILTER (WHERE inspected_on IS NOT NULL AND status IN ('closed', 'dismissed')),"
            " count(*) FILTER (WHERE status = 'closed')"
            " FROM rp_ntl_case n WHERE coalesce(n.inspected_on, n.created_at::date) >= :first"
            " AND coalesce(n.inspected_on, n.created_at::date) < :last"
            + _where(actor, NtlCase, "n")
        ),
        p,
    ).one()
    cuts = session.scalar(
        text(
            "SELECT count(*) FROM field_work_order w WHERE w.kind = 'cut' AND w.status = 'completed'"
            " AND w.finished_at >= :first AND w.finished_at < :last" + _where(actor, WorkOrder, "w")
        ),
        p,
    )
    restored = session.execute(
        text(
            "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
            "restored_at - payment_at) / 60), percentile_cont(0.95) WITHIN GROUP (ORDER BY "
            "extract(epoch FROM restored_at - payment_at) / 60) FROM rp_restoration r "
            "WHERE r.status = 'restored' AND r.restored_at >= :first AND r.restored_at < :last"
            + _where(actor, Restoration, "r")
        ),
        p,
    ).one()
    billed = session.scalar(
        text(
            "SELECT coalesce(sum(total), 0) FROM billing_invoice i WHERE i.issue_date >= :first"
            " AND i.issue_date < :last" + _where(actor, Invoice, "i")
        ),
        p,
    )
    collected = session.scalar(
        text(
            "SELECT coalesce(sum(amount), 0) FROM billing_payment y WHERE y.value_date >= :first"
            " AND y.value_date < :last" + _where(actor, Payment, "y")
        ),
        p,
    )
    return Dashboard(
        first=first,
        last=last,
        zones=zones,
        agencies=_agencies(session, actor, p),
        recovered_kwh=cases[0],
        recovered_amount=int(cases[1]),
        inspections_done=cases[2],
        inspections_confirmed=cases[3],
        hit_rate=_ratio(cases[3], cases[2]),
        cuts=int(cuts or 0),
        restorations=int(restored[0]),
        restore_minutes_p50=None if restored[1] is None else round(restored[1], 2),
        restore_minutes_p95=None if restored[2] is None else round(restored[2], 2),
        billed=int(billed or 0),
        collected=int(collected or 0),
        collection_rate=_ratio(float(collected or 0), float(billed or 0)),
    )


AGENCY_HEADER = [
    "agency_code", "month", "zones", "zones_analysable", "energy_in_kwh", "technical_loss_kwh",
    "ntl_kwh", "loss_ratio", "technical_ratio", "ntl_ratio",
]  # fmt: skip


def _rows(board: Dashboard) -> tuple[list[str], list[list[Any]], list[list[Any]]]:
    header = [
        "zone_kind", "zone_code", "month", "energy_in_kwh", "technical_loss_kwh", "ntl_kwh",
        "loss_ratio", "technical_ratio", "ntl_ratio",
    ]  # fmt: skip
    rows = [[getattr(z, h) for h in header] for z in board.zones]
    totals = [
        [name, getattr(board, name)]
        for name in (
            "recovered_kwh", "recovered_amount", "inspections_done", "inspections_confirmed",
            "hit_rate", "cuts", "restorations", "restore_minutes_p50", "restore_minutes_p95",
            "billed", "collected", "collection_rate",
        )
    ]  # fmt: skip
    return header, rows, totals


def to_csv(board: Dashboard) -> str:
    header, rows, totals = _rows(board)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    writer.writerow([])
    writer.writerow(AGENCY_HEADER)
    writer.writerows([[getattr(a, h) for h in AGENCY_HEADER] for a in board.agencies])
    writer.writerow([])
    writer.writerows(totals)
    return out.getvalue()


def to_xlsx(board: Dashboard) -> bytes:
    from openpyxl import Workbook

    header, rows, totals = _rows(board)
    book = Workbook()
    zones = book.active
    zones.title = "zones"
    zones.append(header)
    for row in rows:
        zones.append(row)
    agencies = book.create_sheet("agencies")
    agencies.append(AGENCY_HEADER)
    for agency in board.agencies:
        agencies.append([getattr(agency, h) for h in AGENCY_HEADER])
    summary = book.create_sheet("summary")
    summary.append(["figure", "value"])
    for row in totals:
        summary.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
