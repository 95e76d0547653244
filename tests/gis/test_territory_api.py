"""The territory rule on the network's writes and files: switching, feeder export and
imports by staff bound to an agency's territory (reads are in tests/api)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.gis.networks import MV, feature, mv, point, small_network
from tests.gis.test_topology_api import BASE, geojson_upload

# The small network's western part: h1, a, b, e (lon <= 2.42) with m1, m2, m4, S1, T1, T3.
# Outside: c, d, g, h2, so m3, m5, S3, T2 and all of feeder F2.
WEST = {
    "type": "MultiPolygon",
    "coordinates": [[[[2.395, 6.38], [2.425, 6.38], [2.425, 6.43], [2.395, 6.43], [2.395, 6.38]]]],
}


@pytest.fixture()
def west(make_user, db: Session) -> dict[str, str]:
    """An administrator (every scope) bound to the western agency."""
    token = make_user("admin", agency="TST-WEST")
    db.execute(
        text(
            "UPDATE core_agency SET territory = ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) "
            "WHERE code = 'TST-WEST'"
        ),
        {"g": json.dumps(WEST)},
    )
    db.commit()  # kept when a refused request rolls its unit of work back
    return bearer(token)


@pytest.fixture()
def head_office(client: TestClient, make_user) -> dict[str, str]:
    headers = bearer(make_user("admin"))
    answer = client.post(f"{BASE}/imports", headers=headers, files=geojson_upload(small_network()))
    assert answer.status_code == 201, answer.text
    return headers


def _is_open(db: Session, code: str) -> bool:
    return db.execute(text("SELECT is_open FROM gis_switch WHERE code = :c"), {"c": code}).scalar()


def test_a_switch_outside_the_territory_cannot_be_operated(
    client: TestClient, db: Session, head_office: dict, west: dict
) -> None:
    outside = client.post(f"{BASE}/switches/S3/operate", headers=west, json={"open": False})
    assert outside.status_code == 404
    assert outside.json()["code"] == "switch_not_found"
    assert _is_open(db, "S3") is True  # the tie stays open
    again = client.post(f"{BASE}/switches/S3/operate", headers=west, json={"open": False})
    assert again.status_code == 404

    inside = client.post(f"{BASE}/switches/S1/operate", headers=west, json={"open": True})
    assert inside.status_code == 200
    assert inside.json() == {
        "code": "S1",
        "kind": "disconnector",
        "is_open": True,
        "normal_open": False,
        "changed": True,
    }


def test_feeder_export_is_limited_to_the_territory(
    client: TestClient, head_office: dict, west: dict
) -> None:
    wholly_outside = client.get(f"{BASE}/feeders/F2/export", headers=west)
    assert wholly_outside.status_code == 404
    assert wholly_outside.json()["code"] == "feeder_not_found"

    crossing = client.get(f"{BASE}/feeders/F1/export", headers=west)
    assert crossing.status_code == 200
    assert crossing.headers["x-territory-limited"] == "true"
    body = crossing.json()
    assert body["territory_limited"] is True
    codes = {f["properties"]["code"] for f in body["features"]}
    # LV items have derived positions at their transformer: T1's (b) inside, T2's (d) not.
    assert codes == {"F1", "m1", "m2", "m4", "S1", "T1", "T3", "l1", "l2", "l4", "B1", "B2", "E1"}

    whole = client.get(f"{BASE}/feeders/F1/export", headers=head_office)
    assert "x-territory-limited" not in whole.headers
    assert {"m3", "T2", "D1", "D2"} <= {f["properties"]["code"] for f in whole.json()["features"]}


def test_an_import_reaching_outside_the_territory_writes_nothing(
    client: TestClient, db: Session, west: dict
) -> None:
    answer = client.post(f"{BASE}/imports", headers=west, files=geojson_upload(small_network("W-")))
    assert answer.status_code == 403
    problem = answer.json()
    assert problem["code"] == "outside_territory"
    assert "node:c" in problem["detail"] and "mv_segment:W-m3" in problem["detail"]
    assert db.execute(text("SELECT count(*) FROM gis_feeder WHERE code = 'W-F1'")).scalar() == 0

    inside = [
        feature("feeder_head", point(MV["h1"]), code="W-F1", bus="h1"),
        mv("W-m1", "h1", "a"),
    ]
    answer = client.post(f"{BASE}/imports", headers=west, files=geojson_upload(inside))
    assert answer.status_code == 201, answer.text


def test_an_import_cannot_overwrite_an_asset_outside_the_territory(
    client: TestClient, db: Session, head_office: dict, west: dict
) -> None:
    # T2 lies at d, outside; the file would move it to b, inside.
    moved = [
        feature("feeder_head", point(MV["h1"]), code="W-F1", bus="h1"),
        mv("W-m1", "h1", "a"),
        feature(
            "distribution_transformer", point(MV["a"]), code="T2", hv_bus="a", lv_bus="al", kva=50
        ),
    ]
    answer = client.post(f"{BASE}/imports", headers=west, files=geojson_upload(moved))
    assert answer.status_code == 403
    assert answer.json()["code"] == "outside_territory"
    assert "T2" in answer.json()["detail"]
    lon, kva = db.execute(
        text("SELECT ST_X(geom), rated_kva FROM gis_power_transformer WHERE code = 'T2'")
    ).one()
    assert (lon, kva) == (MV["d"][0], 100.0)
