"""The territory rule on the meter domain: staff of an agency neither see nor change the
meters, installations, readings and consumption of another agency's usage points, and
cannot place anything there. Meters in stock are shared by every agency."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.context import Actor
from core.territory import visible
from customers.models import UsagePoint
from gis.models import Feeder, NetworkNode, PowerTransformer
from meters.models import Meter, MeterInstallation, Reading
from meters.zone_models import ZoneMeterInstallation
from tests.conftest import bearer
from tests.support.territory import EAST_OUTLINE, INSIDE, OUTSIDE, east_agency, usage_point_at

FEB = {"period_from": "2025-02-01T00:00:00Z", "period_to": "2025-03-01T00:00:00Z"}


@dataclass
class World:
    head: str  # head-office billing officer: unrestricted
    east: str  # billing officer of the East agency
    up_in: UsagePoint
    up_out: UsagePoint
    meter_in: dict
    meter_out: dict
    stock: dict


def _post(client: TestClient, token: str, url: str, body: dict | None = None) -> dict:
    response = client.post(url, headers=bearer(token), json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _meter(client: TestClient, token: str) -> dict:
    serial = f"T{uuid.uuid4().hex[:9].upper()}"
    return _post(client, token, "/api/v1/meters", {"serial": serial, "meter_type": "postpaid"})


def _install(
    client: TestClient, token: str, meter: dict, point: UsagePoint, at: str = "2025-01-01"
) -> dict:
    return _post(
        client,
        token,
        f"/api/v1/meters/{meter['id']}/install",
        {"usage_point_id": point.id, "installed_at": f"{at}T00:00:00Z", "start_index": 100},
    )


def _read(meter: dict, at: str, value: int) -> dict:
    return {"meter_serial": meter["serial"], "read_at": at, "value": value, "source": "handheld"}


@pytest.fixture()
def world(client: TestClient, db: Session, make_user) -> World:
    agency = east_agency(db, "EAST-M")
    head, east = make_user("billing_officer"), make_user("billing_officer", agency=agency)
    up_in, up_out = usage_point_at(db, INSIDE), usage_point_at(db, OUTSIDE)
    meter_in, meter_out, stock = _meter(client, head), _meter(client, head), _meter(client, head)
    _install(client, head, meter_in, up_in)
    _install(client, head, meter_out, up_out)
    for meter in (meter_in, meter_out):
        _post(client, head, "/api/v1/readings", _read(meter, "2025-01-31T09:00:00Z", 150))
        _post(client, head, "/api/v1/readings", _read(meter, "2025-02-28T09:00:00Z", 230))
    return World(head, east, up_in, up_out, meter_in, meter_out, stock)


def _get(client: TestClient, token: str, url: str, **params: object):
    return client.get(url, headers=bearer(token), params=params)


def _estimate(client: TestClient, db: Session, token: str, meter: dict, at: str):
    register_id = db.scalar(select(Reading.register_id).where(Reading.meter_id == meter["id"]))
    return client.post(
        "/api/v1/readings/estimates",
        headers=bearer(token),
        json={"register_id": register_id, "at": at},
    )


def _reading_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Reading)) or 0


def test_another_agencys_meter_is_not_found_and_absent_from_the_list(client, world):
    out, inside = world.meter_out, world.meter_in
    for url in (f"/api/v1/meters/{out['id']}", f"/api/v1/meters/{out['id']}/installations"):
        missing = _get(client, world.east, url)
        assert (missing.status_code, missing.json()["code"]) == (404, "meter_not_found")
    assert _get(client, world.east, f"/api/v1/meters/{inside['id']}").json()["status"] == (
        "installed"
    )
    serials = {
        m["serial"] for m in _get(client, world.east, "/api/v1/meters", limit=200).json()["items"]
    }
    assert inside["serial"] in serials and world.stock["serial"] in serials
    assert out["serial"] not in serials
    # Head office sees all three.
    everything = _get(client, world.head, "/api/v1/meters", limit=200).json()["items"]
    assert {inside["serial"], out["serial"], world.stock["serial"]} <= {
        m["serial"] for m in everything
    }


def test_another_agencys_meter_cannot_be_edited_removed_restocked_or_scrapped(client, db, world):
    meter_id = world.meter_out["id"]
    edit = client.patch(
        f"/api/v1/meters/{meter_id}", headers=bearer(world.east), json={"make": "Hacked"}
    )
    removal = client.post(
        f"/api/v1/meters/{meter_id}/remove",
        headers=bearer(world.east),
        json={"removed_at": "2025-03-01T00:00:00Z", "end_index": 300},
    )
    scrap = client.post(f"/api/v1/meters/{meter_id}/scrap", headers=bearer(world.east))
    restock = client.post(f"/api/v1/meters/{meter_id}/restock", headers=bearer(world.east))
    assert [r.status_code for r in (edit, removal, scrap, restock)] == [404, 404, 404, 404]
    meter = db.get(Meter, meter_id)
    db.refresh(meter)
    assert (meter.make, meter.status) == ("", "installed")


def test_a_stock_meter_cannot_be_installed_at_another_agencys_usage_point(client, db, world):
    refused = client.post(
        f"/api/v1/meters/{world.stock['id']}/install",
        headers=bearer(world.east),
        json={
            "usage_point_id": world.up_out.id,
            "installed_at": "2025-02-01T00:00:00Z",
            "start_index": 0,
        },
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "outside_territory")
    assert db.scalar(select(Meter.status).where(Meter.id == world.stock["id"])) == "in_stock"
    assert (
        db.scalars(
            select(MeterInstallation).where(MeterInstallation.meter_id == world.stock["id"])
        ).all()
        == []
    )
    # The same stock meter goes in at the agency's own usage point (after its meter left).
    _post(
        client,
        world.east,
        f"/api/v1/meters/{world.meter_in['id']}/remove",
        {"removed_at": "2025-03-01T00:00:00Z", "end_index": 300},
    )
    assert _install(client, world.east, world.stock, world.up_in, "2025-03-01")[
        "usage_point_id"
    ] == (world.up_in.id)


def test_another_agencys_usage_point_meter_cannot_be_replaced(client, db, world):
    replaced = client.post(
        f"/api/v1/usage-points/{world.up_out.id}/replace-meter",
        headers=bearer(world.east),
        json={
            "new_meter_id": world.stock["id"],
            "replaced_at": "2025-03-01T00:00:00Z",
            "old_end_index": 300,
            "new_start_index": 0,
        },
    )
    assert (replaced.status_code, replaced.json()["code"]) == (404, "usage_point_not_found")
    assert db.scalar(select(Meter.status).where(Meter.id == world.meter_out["id"])) == "installed"


def test_another_agencys_readings_and_consumption_are_not_found(client, world):
    out_feeds = (
        (f"/api/v1/meters/{world.meter_out['id']}/readings", {}),
        (f"/api/v1/usage-points/{world.up_out.id}/readings", {}),
        (f"/api/v1/usage-points/{world.up_out.id}/consumption", FEB),
    )
    for url, params in out_feeds:
        assert _get(client, world.east, url, **params).status_code == 404, url
    own = _get(client, world.east, f"/api/v1/usage-points/{world.up_in.id}/readings").json()
    assert [r["value"] for r in own["items"]] == ["230.000", "150.000"]
    feb = _get(client, world.east, f"/api/v1/usage-points/{world.up_in.id}/consumption", **FEB)
    assert [(c["register_code"], c["kwh"]) for c in feb.json()] == [("total", "80")]


def test_reads_and_estimates_cannot_be_posted_for_another_agencys_meter(client, db, world):
    before = _reading_count(db)
    read = client.post(
        "/api/v1/readings",
        headers=bearer(world.east),
        json=_read(world.meter_out, "2025-03-31T09:00:00Z", 400),
    )
    assert (read.status_code, read.json()["errors"][0]["field"]) == (422, "meter_serial")
    estimate = _estimate(client, db, world.east, world.meter_out, "2025-03-31T00:00:00Z")
    assert (estimate.status_code, estimate.json()["code"]) == (404, "register_not_found")
    assert _reading_count(db) == before


def test_a_meter_back_in_stock_takes_no_read_of_its_time_at_another_agency(client, db, world):
    """A removed meter is seen by all (no place), but a read or estimate dated while it was
    fitted at another agency's usage point would land there: refused."""
    _post(
        client,
        world.head,
        f"/api/v1/meters/{world.meter_out['id']}/remove",
        {"removed_at": "2025-03-15T00:00:00Z", "end_index": 300},
    )
    before = _reading_count(db)
    assert _get(client, world.east, f"/api/v1/meters/{world.meter_out['id']}").status_code == 200
    back_dated = client.post(
        "/api/v1/readings",
        headers=bearer(world.east),
        json=_read(world.meter_out, "2025-03-10T09:00:00Z", 280),
    )
    assert (back_dated.status_code, back_dated.json()["code"]) == (403, "outside_territory")
    estimate = _estimate(client, db, world.east, world.meter_out, "2025-03-10T00:00:00Z")
    assert (estimate.status_code, estimate.json()["code"]) == (403, "outside_territory")
    assert _reading_count(db) == before
    # Its history and reads show nothing of the other agency's usage point.
    history = _get(client, world.east, f"/api/v1/meters/{world.meter_out['id']}/installations")
    assert history.json() == []
    reads = _get(client, world.east, f"/api/v1/meters/{world.meter_out['id']}/readings")
    assert reads.json() == {"items": [], "next_cursor": None}


def test_own_agency_reads_and_estimates_are_accepted(client, db, world):
    read = _post(
        client,
        world.east,
        "/api/v1/readings",
        _read(world.meter_in, "2025-03-31T09:00:00Z", 310),
    )
    assert (read["status"], read["usage_point_id"]) == ("accepted", world.up_in.id)
    register_id = read["register_id"]
    estimate = _post(
        client,
        world.east,
        "/api/v1/readings/estimates",
        {"register_id": register_id, "at": "2025-04-30T00:00:00Z"},
    )
    assert (estimate["source"], estimate["usage_point_id"]) == ("estimated", world.up_in.id)


def test_a_territory_bound_user_imports_only_reads_of_own_meters(client, db, world):
    """A file carrying a read of another agency's meter is refused whole, naming the line;
    the same user's file of its own meter's reads goes in."""
    before = _reading_count(db)
    header = "serial,read_at,value,source\n"
    own = f"{world.meter_in['serial']},2025-03-31T08:00:00Z,300,ami\n"
    other = f"{world.meter_out['serial']},2025-03-31T08:00:00Z,300,ami\n"

    def send(csv: str):
        return client.post(
            "/api/v1/readings/imports",
            headers=bearer(world.east),
            files={"file": ("reads.csv", csv.encode(), "text/csv")},
        )

    refused = send(header + own + other)
    assert (refused.status_code, refused.json()["code"]) == (422, "reading_import_invalid")
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("line 3", "outside_territory")
    ]
    assert _reading_count(db) == before
    accepted = send(header + own)
    assert (accepted.status_code, accepted.json()["new"]) == (200, 1), accepted.text


def test_zone_meters_are_placed_by_their_transformer_or_feeder_head(db):
    """A zone meter (no usage point) is seen where its transformer stands or where its
    feeder runs (the network's own rules); its installation likewise."""
    agency = Agency(code="EAST-Z", name="East", territory=WKTElement(EAST_OUTLINE, srid=4326))
    head_out = NetworkNode(code="N-Z-HEAD", geom=WKTElement(OUTSIDE, srid=4326))
    hv, lv = NetworkNode(code="N-Z-HV"), NetworkNode(code="N-Z-LV")
    db.add_all([agency, head_out, hv, lv])
    db.flush()
    feeder = Feeder(code="F-Z-1", head_node_id=head_out.id)
    transformer = PowerTransformer(
        code="T-Z-1",
        rated_kva=160,
        hv_node_id=hv.id,
        lv_node_id=lv.id,
        geom=WKTElement(INSIDE, srid=4326),
    )
    at_transformer, at_feeder = (
        Meter(serial="Z-IN", meter_type="smart"),
        Meter(serial="Z-OUT", meter_type="smart"),
    )
    db.add_all([feeder, transformer, at_transformer, at_feeder])
    db.flush()
    since = datetime(2025, 1, 1, tzinfo=UTC)
    db.add_all(
        [
            ZoneMeterInstallation(
                meter_id=at_transformer.id, transformer_id=transformer.id, installed_at=since
            ),
            ZoneMeterInstallation(meter_id=at_feeder.id, feeder_id=feeder.id, installed_at=since),
        ]
    )
    db.flush()
    east = Actor(user_id=None, username="east", territory_agency_id=agency.id)
    seen = db.scalars(
        select(Meter.serial).where(Meter.serial.in_(["Z-IN", "Z-OUT"]), visible(east, Meter))
    ).all()
    assert seen == ["Z-IN"]
    zones = db.scalars(
        select(ZoneMeterInstallation.meter_id).where(
            ZoneMeterInstallation.meter_id.in_([at_transformer.id, at_feeder.id]),
            visible(east, ZoneMeterInstallation),
        )
    ).all()
    assert zones == [at_transformer.id]
