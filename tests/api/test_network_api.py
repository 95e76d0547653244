"""The network API: GeoJSON lists with bbox and keyset pages, detail, search, territory,
and problem answers for bad input and missing rights."""

from __future__ import annotations

import json

import pytest
from geoalchemy2.elements import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.models import Feeder, LineSegment, NetworkNode, PowerTransformer, ServicePoint, Switch
from tests.conftest import bearer

# A hand-made patch of network far from anything else in the test database: a 3 x 3 grid of
# service points 0.01 degree apart around (100.00, 50.00), one transformer, one MV segment.
BASE_LON, BASE_LAT = 100.0, 50.0


def _point(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon} {lat})", srid=4326)


@pytest.fixture()
def patch_network(db: Session) -> dict[str, object]:
    feeder = Feeder(code="TST-F1", name="Test feeder")
    db.add(feeder)
    db.flush()
    nodes = [
        NetworkNode(
            code=f"TST-N{i}", geom=_point(BASE_LON + i * 0.001, BASE_LAT), feeder_id=feeder.id
        )
        for i in range(3)
    ]
    db.add_all(nodes)
    db.flush()
    feeder.head_node_id = nodes[0].id
    transformer = PowerTransformer(
        code="TST-T1",
        rated_kva=100.0,
        hv_node_id=nodes[1].id,
        lv_node_id=nodes[2].id,
        geom=_point(BASE_LON + 0.001, BASE_LAT),
        feeder_id=feeder.id,
    )
    db.add(transformer)
    db.add(
        LineSegment(
            code="TST-L1",
            voltage_level="mv",
            from_node_id=nodes[0].id,
            to_node_id=nodes[1].id,
            geom=WKTElement(
                f"LINESTRING({BASE_LON} {BASE_LAT}, {BASE_LON + 0.001} {BASE_LAT})", srid=4326
            ),
            feeder_id=feeder.id,
            length_m=71.5,
        )
    )
    db.add(
        Switch(
            code="TST-SW1",
            kind="load_break",
            from_node_id=nodes[0].id,
            to_node_id=nodes[1].id,
            normal_open=True,
            is_open=True,
            geom=_point(BASE_LON, BASE_LAT),
            feeder_id=feeder.id,
        )
    )
    db.flush()
    points = {}
    for row in range(3):
        for col in range(3):
            code = f"TST-SP{row}{col}"
            sp = ServicePoint(
                code=code,
                kind="connection",
                node_id=nodes[2].id,
                geom=_point(BASE_LON + col * 0.01, BASE_LAT + row * 0.01),
                feeder_id=feeder.id,
                transformer_id=transformer.id,
            )
            db.add(sp)
            points[code] = sp
    db.flush()
    return {"feeder": feeder, "transformer": transformer, "points": points}


def _reader(make_user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_user("technician"))


def _codes(body: dict) -> list[str]:
    return [f["properties"]["code"] for f in body["features"]]


def test_needs_a_token_and_the_scope(client, make_user, patch_network) -> None:
    answer = client.get("/api/v1/network/service-points")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "not_authenticated"
    cashier = bearer(make_user("cashier"))  # cashiers have no network:read
    answer = client.get("/api/v1/network/transformers", headers=cashier)
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_bbox_returns_exactly_the_assets_inside(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    # Columns 0 and 1 of rows 0 and 1: lon 99.995..100.015, lat 49.995..50.015.
    answer = client.get(
        "/api/v1/network/service-points",
        params={"bbox": "99.995,49.995,100.015,50.015", "q": "TST-"},
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert sorted(_codes(body)) == ["TST-SP00", "TST-SP01", "TST-SP10", "TST-SP11"]
    assert body["next"] is None and body["next_cursor"] is None
    feature = next(f for f in body["features"] if f["properties"]["code"] == "TST-SP11")
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [100.01, 50.01]}  # lon, lat
    assert feature["properties"]["feeder_code"] == "TST-F1"
    assert feature["properties"]["transformer_code"] == "TST-T1"


def test_bbox_on_lines_and_feeders(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    inside = {"bbox": "99.9995,49.9995,100.0005,50.0005"}  # holds the segment's west end
    away = {"bbox": "100.005,50.005,100.006,50.006"}
    feeders = client.get("/api/v1/network/feeders", params={**inside, "q": "TST-"}, headers=headers)
    assert _codes(feeders.json()) == ["TST-F1"]
    shape = feeders.json()["features"][0]["geometry"]
    assert shape["type"] == "MultiLineString"
    assert shape["coordinates"] == [[[100.0, 50.0], [100.001, 50.0]]]
    nothing = client.get("/api/v1/network/feeders", params={**away, "q": "TST-"}, headers=headers)
    assert nothing.json()["features"] == []
    switches = client.get(
        "/api/v1/network/switches", params={**inside, "q": "TST-"}, headers=headers
    )
    props = switches.json()["features"][0]["properties"]
    assert props == {
        "code": "TST-SW1",
        "kind": "load_break",
        "normal_open": True,
        "is_open": True,
        "feeder_code": "TST-F1",
    }


@pytest.mark.parametrize(
    "bbox",
    [
        "1,2,3",
        "a,b,c,d",
        "10,10,5,20",
        "10,10,20,5",
        "-200,0,10,10",
        "0,-95,10,10",
        "nan,0,1,1",
        "0,0,0,0",
        "",
        "1,2,3,4,5",
    ],
)
def test_bad_bbox_is_a_422_problem(client, make_user, bbox: str) -> None:
    answer = client.get(
        "/api/v1/network/transformers", params={"bbox": bbox}, headers=_reader(make_user)
    )
    assert answer.status_code == 422
    body = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["field"] == "bbox"
    assert body["errors"][0]["code"] == "bbox_invalid"


def test_keyset_pages_have_no_duplicates_or_gaps(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    expected = sorted(sp.id for sp in patch_network["points"].values())
    seen: list[int] = []
    url, params = "/api/v1/network/service-points", {"q": "TST-SP", "limit": 2}
    pages = 0
    while True:
        body = client.get(url, params=params, headers=headers).json()
        seen.extend(f["id"] for f in body["features"])
        pages += 1
        if body["next"] is None:
            break
        assert body["next_cursor"] == body["features"][-1]["id"]
        url, params = body["next"].replace("http://testserver", ""), None
    assert pages == 5  # 9 points, 2 per page
    assert seen == expected  # in id order, each exactly once


def test_limit_and_cursor_are_validated(client, make_user) -> None:
    headers = _reader(make_user)
    beyond_bigint = 2**63
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"after": -1},
        {"after": "x"},
        {"after": beyond_bigint},
        {"id": beyond_bigint},
        {"id": 0},
        {"q": "\x01"},
    ):
        answer = client.get("/api/v1/network/service-points", params=params, headers=headers)
        assert answer.status_code == 422, params
        assert answer.json()["code"] == "validation_failed"


def test_code_prefix_search_is_literal(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    body = client.get(
        "/api/v1/network/service-points", params={"q": "TST-SP1"}, headers=headers
    ).json()
    assert _codes(body) == ["TST-SP10", "TST-SP11", "TST-SP12"]
    # "_" and "%" are not wildcards.
    body = client.get(
        "/api/v1/network/service-points", params={"q": "TST_SP"}, headers=headers
    ).json()
    assert body["features"] == []


def test_detail_by_code(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    answer = client.get("/api/v1/network/transformers/TST-T1", headers=headers)
    assert answer.status_code == 200
    feature = answer.json()
    assert feature["properties"]["rated_kva"] == 100.0
    assert feature["properties"]["service_points"] == 9
    assert feature["properties"]["feeder_code"] == "TST-F1"
    feeder = client.get("/api/v1/network/feeders/TST-F1", headers=headers).json()
    assert feeder["properties"]["transformers"] == 1
    assert feeder["properties"]["service_points"] == 9
    assert feeder["properties"]["mv_length_m"] == 71.5
    missing = client.get("/api/v1/network/service-points/NOPE", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "network_asset_not_found"


def test_search_across_kinds(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    body = client.get("/api/v1/network/search", params={"q": "TST-T1"}, headers=headers).json()
    assert [(f["properties"]["asset"], f["properties"]["code"]) for f in body["features"]] == [
        ("transformers", "TST-T1")
    ]
    body = client.get(
        "/api/v1/network/search", params={"q": "TST-", "limit": 50}, headers=headers
    ).json()
    kinds = {f["properties"]["asset"] for f in body["features"]}
    assert kinds == {"feeders", "transformers", "switches", "service-points"}


def test_staff_of_an_agency_see_only_their_territory(
    client, make_user, db: Session, patch_network
) -> None:
    token = make_user("technician", agency="TST-AG")
    # The territory covers the western column of points only (lon < 100.005).
    territory = json.dumps(
        {
            "type": "MultiPolygon",
            "coordinates": [
                [
                    [
                        [99.99, 49.99],
                        [100.005, 49.99],
                        [100.005, 50.03],
                        [99.99, 50.03],
                        [99.99, 49.99],
                    ]
                ]
            ],
        }
    )
    db.execute(
        text(
            "UPDATE core_agency SET territory = ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) "
            "WHERE code = 'TST-AG'"
        ),
        {"g": territory},
    )
    headers = bearer(token)
    body = client.get(
        "/api/v1/network/service-points", params={"q": "TST-"}, headers=headers
    ).json()
    assert _codes(body) == ["TST-SP00", "TST-SP10", "TST-SP20"]
    outside = client.get("/api/v1/network/service-points/TST-SP22", headers=headers)
    assert outside.status_code == 404
    inside = client.get("/api/v1/network/service-points/TST-SP10", headers=headers)
    assert inside.status_code == 200
    # The feeder crosses the territory: visible.
    assert _codes(
        client.get("/api/v1/network/feeders", params={"q": "TST-"}, headers=headers).json()
    ) == ["TST-F1"]

    # An agency without a territory sees everything.
    unlimited = bearer(make_user("technician", agency="TST-AG2"))
    body = client.get(
        "/api/v1/network/service-points", params={"q": "TST-"}, headers=unlimited
    ).json()
    assert len(body["features"]) == 9


def test_id_filter_and_properties_only(client, make_user, patch_network) -> None:
    headers = _reader(make_user)
    point = patch_network["points"]["TST-SP12"]
    body = client.get(
        "/api/v1/network/service-points", params={"id": point.id}, headers=headers
    ).json()
    assert _codes(body) == ["TST-SP12"]
    body = client.get(
        "/api/v1/network/feeders", params={"q": "TST-", "geometry": "false"}, headers=headers
    ).json()
    assert body["features"][0]["geometry"] is None
    assert body["features"][0]["properties"]["code"] == "TST-F1"


def test_transformer_trace_is_its_lv_zone(client, make_user, db: Session) -> None:
    from gis.generator import generate_network

    generate_network(db, service_points=300, seed=9401, centre=(30.0, -20.0))
    code = "GEN-9401-T00002"
    expected = db.execute(
        text(
            "SELECT count(*) FROM gis_service_point sp JOIN gis_power_transformer t "
            "ON t.id = sp.transformer_id WHERE t.code = :c"
        ),
        {"c": code},
    ).scalar_one()
    answer = client.get(f"/api/v1/network/transformers/{code}/trace", headers=_reader(make_user))
    assert answer.status_code == 200
    body = answer.json()
    assert body["counts"]["service_points"] == expected
    assert body["counts"]["transformers"] == 1  # the transformer itself, then LV only
    points = [f for f in body["features"] if f["properties"]["asset"] == "service_point"]
    assert len(points) == expected
    missing = client.get("/api/v1/network/transformers/NOPE/trace", headers=_reader(make_user))
    assert missing.status_code == 404


def _limit_to_west_column(db: Session) -> None:
    """Agency TST-AG's territory: the western column of the patch (lon < 100.005)."""
    territory = json.dumps(
        {
            "type": "MultiPolygon",
            "coordinates": [
                [
                    [
                        [99.99, 49.99],
                        [100.005, 49.99],
                        [100.005, 50.03],
                        [99.99, 50.03],
                        [99.99, 49.99],
                    ]
                ]
            ],
        }
    )
    db.execute(
        text(
            "UPDATE core_agency SET territory = ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) "
            "WHERE code = 'TST-AG'"
        ),
        {"g": territory},
    )


def _assets(body: dict) -> list[str]:
    return sorted(f"{f['properties']['asset']}:{f['properties']['code']}" for f in body["features"])


def test_traces_are_limited_to_the_callers_territory(
    client, make_user, db: Session, patch_network
) -> None:
    limited = bearer(make_user("technician", agency="TST-AG"))
    _limit_to_west_column(db)
    unlimited = bearer(make_user("technician", agency="TST-AG2"))

    whole = client.get("/api/v1/network/feeders/TST-F1/trace", headers=unlimited).json()
    assert whole["territory_limited"] is False
    assert whole["properties"]["territory_limited"] is False
    assert whole["counts"] == {
        "nodes": 3,
        "segments": 1,
        "switches": 0,
        "transformers": 1,
        "service_points": 9,
        "open_switches": 1,
    }

    seen = client.get("/api/v1/network/feeders/TST-F1/trace", headers=limited)
    assert seen.status_code == 200
    body = seen.json()
    assert body["territory_limited"] is True and body["properties"]["territory_limited"] is True
    assert body["counts"] == {
        "nodes": 3,
        "segments": 1,
        "switches": 0,
        "transformers": 1,
        "service_points": 3,
        "open_switches": 1,
    }
    assert _assets(body) == [
        "segment:TST-L1",
        "service_point:TST-SP00",
        "service_point:TST-SP10",
        "service_point:TST-SP20",
        "switch:TST-SW1",
        "transformer:TST-T1",
    ]

    zone = client.get("/api/v1/network/transformers/TST-T1/trace", headers=limited).json()
    assert zone["territory_limited"] is True
    assert zone["counts"]["service_points"] == 3
    assert [c for c in _assets(zone) if c.startswith("service_point:")] == [
        "service_point:TST-SP00",
        "service_point:TST-SP10",
        "service_point:TST-SP20",
    ]

    # A start outside the territory is as unknown as a missing one.
    outside = client.get("/api/v1/network/service-points/TST-SP22/upstream", headers=limited)
    assert outside.status_code == 404
    assert outside.json()["code"] == "network_asset_not_found"
    inside = client.get("/api/v1/network/service-points/TST-SP10/upstream", headers=limited)
    assert inside.status_code == 200
    assert inside.json()["territory_limited"] is True
    assert _assets(inside.json()) == [
        "segment:TST-L1",
        "service_point:TST-SP10",
        "transformer:TST-T1",
    ]


def test_upstream_trace_accepts_a_code_or_a_database_id(
    client, make_user, db: Session, patch_network
) -> None:
    headers = _reader(make_user)
    points = patch_network["points"]
    by_code = client.get("/api/v1/network/service-points/TST-SP12/upstream", headers=headers)
    by_id = client.get(
        f"/api/v1/network/service-points/{points['TST-SP12'].id}/upstream", headers=headers
    )
    assert by_code.status_code == by_id.status_code == 200
    assert by_id.json()["properties"]["start"] == {"service_point": "TST-SP12"}
    assert (
        _assets(by_id.json())
        == _assets(by_code.json())
        == ["segment:TST-L1", "service_point:TST-SP12", "transformer:TST-T1"]
    )

    # A code made of digits wins over the id it spells.
    digits = str(points["TST-SP00"].id)
    db.execute(
        text("UPDATE gis_service_point SET code = :c WHERE code = 'TST-SP01'"), {"c": digits}
    )
    body = client.get(f"/api/v1/network/service-points/{digits}/upstream", headers=headers).json()
    assert body["properties"]["start"] == {"service_point": digits}
    assert "service_point:TST-SP00" not in _assets(body)

    unknown = client.get(
        "/api/v1/network/service-points/9223372036854775807/upstream", headers=headers
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "network_asset_not_found"
    huge = client.get(
        "/api/v1/network/service-points/99999999999999999999999/upstream", headers=headers
    )
    assert huge.status_code == 404
