"""The loss dashboard per agency over time, and its drill-down from a transformer zone to
its customers (billed consumption, flags, cases) with CSV / XLSX export: totals checked
against the source tables and hand-computed figures, and each agency's staff seeing only
their own."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import text

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from core.auth import service as auth
from core.context import SYSTEM
from core.periods import Period, add_months
from fraud.models import Flag, ZoneBalance
from gis.models import Feeder, NetworkNode, PowerTransformer, ServicePoint
from revenue_protection import service as rp
from revenue_protection.enums import CaseSource
from tests.billing.world import customer
from tests.conftest import TEST_PASSWORD, bearer

URL = "/api/v1/revenue-protection"
JAN = date(2026, 1, 1)
# Two agencies far from the demo utility's (Benin): squares of 0.1 degree at 20 E, 10 S.
WEST = "MULTIPOLYGON(((20.0 -10.1, 20.1 -10.1, 20.1 -10.0, 20.0 -10.0, 20.0 -10.1)))"
EAST = "MULTIPOLYGON(((20.1 -10.1, 20.2 -10.1, 20.2 -10.0, 20.1 -10.0, 20.1 -10.1)))"


def _agency(db, code: str, outline: str) -> int:
    agency = auth.get_or_create_agency(db, code=code)
    db.execute(
        text("UPDATE core_agency SET territory = ST_GeomFromText(:g, 4326) WHERE id = :id"),
        {"g": outline, "id": agency.id},
    )
    return agency.id


def _transformer(db, code: str, lon: float) -> PowerTransformer:
    hv, lv = NetworkNode(code=f"N-HV-{code}"), NetworkNode(code=f"N-LV-{code}")
    db.add_all([hv, lv])
    db.flush()
    transformer = PowerTransformer(
        code=code, rated_kva=160, hv_node_id=hv.id, lv_node_id=lv.id,
        geom=f"SRID=4326;POINT({lon} -10.05)",
    )  # fmt: skip
    db.add(transformer)
    db.flush()
    return transformer


def _balance(db, month: date, energy: str | None, tech: str, ntl: str | None, **zone) -> None:
    analysable = energy is not None and ntl is not None
    db.add(
        ZoneBalance(
            **zone, period_start=month, period_end=add_months(month, 1),
            energy_in_kwh=Decimal(energy) if energy else None, metered_kwh=Decimal(0),
            estimated_kwh=Decimal(0), usage_points=1, usage_points_unread=0,
            unmetered_kwh=Decimal(0), technical_loss_kwh=Decimal(tech), loss_method="load_length",
            ntl_kwh=Decimal(ntl) if analysable else None,
            ntl_share=Decimal(ntl) / Decimal(energy) if analysable else None,
            analysable=analysable, reason=None if analysable else "no_zone_meter",
            computed_at=datetime.now(UTC),
        )
    )  # fmt: skip


def _on(db, transformer: PowerTransformer, lon: float):
    """A customer whose premises hang on the transformer's pole, at ``lon``."""
    who = customer(db)
    pole = ServicePoint(
        code=f"SP-{uuid.uuid4().hex[:8]}", kind="pole", node_id=transformer.lv_node_id,
        geom=f"SRID=4326;POINT({lon} -10.05)", transformer_id=transformer.id,
    )  # fmt: skip
    db.add(pole)
    db.flush()
    db.execute(
        text(
            "UPDATE customer_service_location SET service_point_id = :sp, geom = "
            "ST_SetSRID(ST_MakePoint(:x, -10.05), 4326) WHERE id = "
            "(SELECT service_location_id FROM customer_usage_point WHERE id = :up)"
        ),
        {"sp": pole.id, "x": lon, "up": who.usage_point_id},
    )
    return who


def _bill(db, who, month: date, kwh: int):
    return invoices.issue_bill(
        db, SYSTEM, contract_id=who.contract_id, period=Period(month, add_months(month, 1)),
        kwh={"total": Decimal(kwh)}, reason=InvoiceReason.CYCLE,
    )  # fmt: skip


def _world(db):
    tag = uuid.uuid4().hex[:6].upper()
    west = _agency(db, f"W{tag}", WEST)
    east = _agency(db, f"E{tag}", EAST)
    t1, t2 = _transformer(db, f"T1-{tag}", 20.03), _transformer(db, f"T2-{tag}", 20.07)
    t3 = _transformer(db, f"T3-{tag}", 20.15)
    feeder = Feeder(code=f"F-{tag}")
    db.add(feeder)
    db.flush()
    feb = add_months(JAN, 1)
    _balance(db, JAN, "1000", "50", "100", transformer_id=t1.id)
    _balance(db, JAN, "3000", "150", "300", transformer_id=t2.id)
    _balance(db, feb, "2000", "100", "400", transformer_id=t1.id)
    _balance(db, feb, None, "120", None, transformer_id=t2.id)  # no zone meter that month
    _balance(db, JAN, "500", "25", "50", transformer_id=t3.id)
    _balance(db, JAN, "9000", "400", "900", feeder_id=feeder.id)  # not an agency's
    db.flush()
    return tag, west, east, t1, t3


def test_losses_per_agency_over_time(db, client, make_user) -> None:
    tag, west, east, _t1, _t3 = _world(db)
    manager = bearer(make_user("manager"))
    params = {"from_month": "2026-01", "to_month": "2026-02"}
    board = client.get(f"{URL}/dashboard", headers=manager, params=params).json()
    mine = [a for a in board["agencies"] if a["agency_code"].endswith(tag)]
    got = [
        (a["agency_id"], a["month"], a["zones"], a["zones_analysable"], a["energy_in_kwh"],
         a["technical_loss_kwh"], a["ntl_kwh"], a["loss_ratio"], a["ntl_ratio"])
        for a in mine
    ]  # fmt: skip
    assert got == [
        # East, January: T3 alone: (25 + 50) / 500 = 0.15, NTL 50 / 500 = 0.1.
        (east, "2026-01-01", 1, 1, 500.0, 25.0, 50.0, 0.15, 0.1),
        # West, January: T1 + T2 = 4000 in, 200 technical, 400 NTL: 600 / 4000 = 0.15.
        (west, "2026-01-01", 2, 2, 4000.0, 200.0, 400.0, 0.15, 0.1),
        # West, February: T2 not analysable, T1 alone: (100 + 400) / 2000 = 0.25.
        (west, "2026-02-01", 2, 1, 2000.0, 100.0, 400.0, 0.25, 0.2),
    ]
    exported = client.get(f"{URL}/dashboard.csv", headers=manager, params=params).text
    assert f"W{tag},2026-02-01,2,1,2000.0,100.0,400.0,0.25,0.05,0.2" in exported
    book = load_workbook(
        io.BytesIO(client.get(f"{URL}/dashboard.xlsx", headers=manager, params=params).content)
    )
    rows = [r for r in book["agencies"].iter_rows(min_row=2, values_only=True) if tag in r[0]]
    # A month is a date cell (read back as a naive datetime).
    assert [(r[0], r[1].date(), *r[2:5]) for r in rows] == [
        (f"E{tag}", JAN, 1, 1, 500),
        (f"W{tag}", JAN, 2, 2, 4000),
        (f"W{tag}", date(2026, 2, 1), 2, 1, 2000),
    ]
    # The east agency's staff see their agency only.
    eastern = bearer(make_user("manager", agency=f"E{tag}"))
    theirs = client.get(f"{URL}/dashboard", headers=eastern, params=params).json()
    assert [a["agency_code"] for a in theirs["agencies"]] == [f"E{tag}"]


def test_drill_down_from_a_zone_to_its_customers(db, client, make_user) -> None:
    tag, _west, _east, t1, t3 = _world(db)
    quiet, flagged, cased = (_on(db, t1, 20.01 + k / 100) for k in range(3))
    elsewhere = _on(db, t3, 20.15)
    _bill(db, quiet, JAN, 120)  # (500 + 100 * 50 + 20 * 80) * 1.18 = 8378
    _bill(db, flagged, JAN, 40)  # (500 + 40 * 50) * 1.18 = 2950
    _bill(db, flagged, add_months(JAN, 1), 30)  # (500 + 30 * 50) * 1.18 = 2360
    _bill(db, cased, add_months(JAN, 2), 200)  # March: outside the months shown
    _bill(db, elsewhere, JAN, 500)  # another zone
    db.add(Flag(usage_point_id=flagged.usage_point_id, source="tip", status="new"))
    db.add(Flag(usage_point_id=flagged.usage_point_id, source="tip", status="dismissed"))
    case = rp.open_case(
        db, actor=SYSTEM, usage_point_id=cased.usage_point_id, source=CaseSource.MANUAL,
        note="neighbour's tip",
    )  # fmt: skip
    db.flush()
    analyst = bearer(make_user("fraud_analyst"))
    params = {"transformer_id": t1.id, "from_month": "2026-01", "to_month": "2026-02"}
    answer = client.get(f"{URL}/dashboard/customers", headers=analyst, params=params)
    assert answer.status_code == 200, answer.text
    zone = answer.json()
    # Open flags and cases first, then by billed kWh.
    assert [r["usage_point_id"] for r in zone["items"]] == [
        flagged.usage_point_id, cased.usage_point_id, quiet.usage_point_id,
    ]  # fmt: skip
    rows = {r["usage_point_id"]: r for r in zone["items"]}
    assert (rows[flagged.usage_point_id]["billed_kwh"], rows[flagged.usage_point_id]["bills"]) == (
        70.0, 2,
    )  # fmt: skip
    assert rows[flagged.usage_point_id]["billed_amount"] == 2950 + 2360
    assert (rows[flagged.usage_point_id]["flags_open"], rows[flagged.usage_point_id]["flags_confirmed"]) == (1, 0)  # fmt: skip
    assert (rows[cased.usage_point_id]["cases_open"], rows[cased.usage_point_id]["case_ids"]) == (
        1, [case.id],
    )  # fmt: skip
    assert rows[cased.usage_point_id]["billed_kwh"] == 0.0
    assert rows[quiet.usage_point_id]["transformer_code"] == t1.code
    # Totals: 120 + 40 + 30 = 190 kWh and 8378 + 2950 + 2360 = 13688, and the same read
    # straight from the bills of the zone's usage points.
    assert (zone["total"], zone["billed_kwh"], zone["billed_amount"]) == (3, 190.0, 13688)
    assert (zone["flags_open"], zone["cases_open"]) == (1, 1)
    source = db.execute(
        text(
            "SELECT sum(i.kwh)::float8, sum(i.total) FROM billing_invoice i "
            "JOIN customer_usage_point up ON up.id = i.usage_point_id "
            "JOIN customer_service_location sl ON sl.id = up.service_location_id "
            "JOIN gis_service_point sp ON sp.id = sl.service_point_id "
            "WHERE sp.transformer_id = :t AND i.kind = 'invoice' AND i.status = 'issued' "
            "AND i.period_start >= '2026-01-01' AND i.period_start < '2026-03-01'"
        ),
        {"t": t1.id},
    ).one()
    assert tuple(source) == (190.0, 13688)
    # Exports: every row, the same figures.
    exported = client.get(f"{URL}/dashboard/customers.csv", headers=analyst, params=params)
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(float(r["billed_kwh"]) for r in lines) == 190.0
    assert {r["case_ids"] for r in lines} == {"", str(case.id)}
    book = load_workbook(
        io.BytesIO(
            client.get(f"{URL}/dashboard/customers.xlsx", headers=analyst, params=params).content
        )
    )
    sheet = list(book["customers"].iter_rows(values_only=True))
    amount = sheet[0].index("billed_amount")
    assert sum(r[amount] for r in sheet[1:]) == 13688
    # Staff of the east agency see none of the west's customers.
    eastern = bearer(make_user("fraud_analyst", agency=f"E{tag}"))
    theirs = client.get(f"{URL}/dashboard/customers", headers=eastern, params=params).json()
    assert (theirs["total"], theirs["items"]) == (0, [])
    bad = client.get(f"{URL}/dashboard/customers", headers=analyst, params={"feeder_id": 0})
    assert bad.status_code == 422
    # The pages: the dashboard links each zone to its customers, listed with their cases.
    make_user("fraud_analyst", username=f"page-rp-zone-{tag.lower()}")
    client.post(
        "/login", data={"username": f"page-rp-zone-{tag.lower()}", "password": TEST_PASSWORD}
    )
    board = client.get("/revenue-protection/dashboard", params={"months": 60})
    assert board.status_code == 200 and 'data-testid="agencies"' in board.text
    assert f"/revenue-protection/dashboard/customers?transformer_id={t1.id}" in board.text
    page = client.get(
        "/revenue-protection/dashboard/customers", params={"transformer_id": t1.id, "months": 60}
    )
    assert page.status_code == 200
    assert (
        f'href="/revenue-protection/cases/{case.id}"' in page.text and "3 usage points" in page.text
    )
