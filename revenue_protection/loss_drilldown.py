"""The loss dashboard's drill-down from a zone to its customers: the usage points a
transformer or a feeder supplies (through their premises' service point, as the network
trace materialised it), each with what was billed over the months shown, its fraud flags
and score, its NTL cases and what they recovered, and its supply state. Exported as CSV or
XLSX like the dashboard.

Units as the dashboard's: kWh, minor units, probabilities as fractions. Billed figures are
the issued bills (credit notes and credited bills left out) whose period starts in the
months shown; limited to the caller's territory (by usage point).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import rule_sql
from customers.models import UsagePoint
from revenue_protection.enums import OPEN_CASE_STATUSES


class CustomerRow(BaseModel):
    usage_point_id: int
    usage_point_code: str
    category: str
    connection_state: str
    account_number: str | None
    customer_name: str | None
    feeder_code: str | None
    transformer_code: str | None
    billed_kwh: float  # issued bills whose period starts in the months shown
    billed_amount: int
    bills: int
    flags_open: int  # fraud flags not yet confirmed or dismissed
    flags_confirmed: int
    fraud_probability: float | None  # the newest score
    cases_open: int
    cases_closed: int
    case_ids: list[int]
    recovered_kwh: float  # closed cases
    recovered_amount: int


class ZoneCustomers(BaseModel):
    first: date
    last: date  # exclusive
    transformer_id: int | None
    feeder_id: int | None
    total: int
    offset: int
    limit: int
    items: list[CustomerRow]
    # Over every usage point of the zone (not the page only).
    billed_kwh: float
    billed_amount: int
    flags_open: int
    cases_open: int


_OPEN_FLAGS = "('new', 'reviewing', 'sent_to_inspection')"
_OPEN_CASES = "(" + ", ".join(f"'{s.value}'" for s in OPEN_CASE_STATUSES) + ")"

_ROWS = f"""
WITH zone AS (
  SELECT up.id, up.code, up.category, up.connection_state, sp.feeder_id, sp.transformer_id
  FROM customer_usage_point up
  JOIN customer_service_location sl ON sl.id = up.service_location_id
  JOIN gis_service_point sp ON sp.id = sl.service_point_id
  WHERE (CAST(:transformer AS bigint) IS NULL OR sp.transformer_id = :transformer)
    AND (CAST(:feeder AS bigint) IS NULL OR sp.feeder_id = :feeder) {{territory}}
), billed AS (
  SELECT i.usage_point_id, sum(i.kwh)::float8 AS kwh, sum(i.total) AS amount, count(*) AS n
  FROM billing_invoice i JOIN zone z ON z.id = i.usage_point_id
  WHERE i.kind = 'invoice' AND i.status = 'issued'
    AND i.period_start >= :first AND i.period_start < :last
  GROUP BY 1
), flags AS (
  SELECT f.usage_point_id, count(*) FILTER (WHERE f.status IN {_OPEN_FLAGS}) AS open,
         count(*) FILTER (WHERE f.status = 'confirmed') AS confirmed
  FROM fraud_flag f JOIN zone z ON z.id = f.usage_point_id GROUP BY 1
), cases AS (
  SELECT n.usage_point_id, count(*) FILTER (WHERE n.status IN {_OPEN_CASES}) AS open,
         count(*) FILTER (WHERE n.status = 'closed') AS closed,
         array_agg(n.id ORDER BY n.id) AS ids,
         coalesce(sum(n.recovered_kwh) FILTER (WHERE n.status = 'closed'), 0)::float8 AS kwh,
         coalesce(sum(n.recovered_amount) FILTER (WHERE n.status = 'closed'), 0) AS amount
  FROM rp_ntl_case n JOIN zone z ON z.id = n.usage_point_id GROUP BY 1
), rows AS (
  SELECT z.id, z.code, z.category, z.connection_state,
         (SELECT a.number FROM customer_contract c JOIN customer_account a ON a.id = c.account_id
          WHERE c.usage_point_id = z.id ORDER BY c.status = 'active' DESC, c.id DESC LIMIT 1) AS account_number,
         (SELECT p.display_name FROM customer_contract c
          JOIN customer_account a ON a.id = c.account_id
          JOIN customer_party p ON p.id = a.payer_party_id
          WHERE c.usage_point_id = z.id ORDER BY c.status = 'active' DESC, c.id DESC LIMIT 1)
           AS customer_name,
         fd.code AS feeder_code, tr.code AS transformer_code,
         coalesce(b.kwh, 0) AS billed_kwh, coalesce(b.amount, 0) AS billed_amount,
         coalesce(b.n, 0) AS bills, coalesce(f.open, 0) AS flags_open,
         coalesce(f.confirmed, 0) AS flags_confirmed,
         (SELECT s.probability FROM fraud_score s WHERE s.usage_point_id = z.id
          ORDER BY s.id DESC LIMIT 1) AS fraud_probability,
         coalesce(c.open, 0) AS cases_open, coalesce(c.closed, 0) AS cases_closed,
         coalesce(c.ids, ARRAY[]::bigint[]) AS case_ids, coalesce(c.kwh, 0) AS recovered_kwh,
         coalesce(c.amount, 0) AS recovered_amount
  FROM zone z
  LEFT JOIN gis_feeder fd ON fd.id = z.feeder_id
  LEFT JOIN gis_power_transformer tr ON tr.id = z.transformer_id
  LEFT JOIN billed b ON b.usage_point_id = z.id
  LEFT JOIN flags f ON f.usage_point_id = z.id
  LEFT JOIN cases c ON c.usage_point_id = z.id
)
SELECT r.*, count(*) OVER (), sum(r.billed_kwh) OVER (), sum(r.billed_amount) OVER (),
       sum(r.flags_open) OVER (), sum(r.cases_open) OVER ()
FROM rows r
ORDER BY r.flags_open + r.cases_open DESC, r.billed_kwh DESC, r.id
LIMIT :limit OFFSET :offset
"""


def zone_customers(
    session: Session, *, actor: Actor, first: date, last: date, transformer_id: int | None,
    feeder_id: int | None, offset: int = 0, limit: int = 100,
) -> ZoneCustomers:  # fmt: skip
    """The usage points of a zone (a transformer's, a feeder's; with neither, every one
    of the caller's territory), those with open flags and cases first."""
    territory = rule_sql(actor, UsagePoint, "up")
    sql = _ROWS.format(territory=f"AND {territory}" if territory else "")
    params = {
        "transformer": transformer_id, "feeder": feeder_id, "first": first, "last": last,
        "offset": offset, "limit": limit,
    }  # fmt: skip
    found = session.execute(text(sql), params).all()
    fields = list(CustomerRow.model_fields)
    items = [CustomerRow(**dict(zip(fields, r[: len(fields)], strict=True))) for r in found]
    tail = found[0][len(fields) :] if found else (0, 0.0, 0, 0, 0)
    return ZoneCustomers(
        first=first, last=last, transformer_id=transformer_id, feeder_id=feeder_id,
        total=int(tail[0]), offset=offset, limit=limit, items=items,
        billed_kwh=float(tail[1] or 0), billed_amount=int(tail[2] or 0),
        flags_open=int(tail[3] or 0), cases_open=int(tail[4] or 0),
    )  # fmt: skip


def _cells(row: CustomerRow) -> list[Any]:
    values = row.model_dump()
    values["case_ids"] = " ".join(str(i) for i in row.case_ids)
    return [values[h] for h in CustomerRow.model_fields]


def to_csv(page: ZoneCustomers) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(CustomerRow.model_fields))
    writer.writerows(_cells(r) for r in page.items)
    return out.getvalue()


def to_xlsx(page: ZoneCustomers) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "customers"
    sheet.append(list(CustomerRow.model_fields))
    for row in page.items:
        sheet.append(_cells(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
