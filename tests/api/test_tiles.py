"""Vector tiles: decoded with mapbox-vector-tile, exact features and properties per layer,
zoom limits, territory, auth and problem answers."""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pytest
from geoalchemy2.elements import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import TOKEN_COOKIE
from gis.generator import generate_network
from gis.models import Feeder, LineSegment, NetworkNode, PowerTransformer, ServicePoint, Switch
from tests.conftest import bearer

MVT = "application/vnd.mapbox-vector-tile"
# Everything sits inside the zoom-16 tile holding (120.0005, -30.0005): far from other data.
LON, LAT = 120.0005, -30.0005


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def _pt(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon} {lat})", srid=4326)


@pytest.fixture()
def tile_network(db: Session) -> dict[str, object]:
    west, south, east, north = tile_bounds(16, *tile_of(LON, LAT, 16))
    inside = [(west + (east - west) * f, south + (north - south) * f) for f in (0.2, 0.5, 0.8)]
    outside = (east + (east - west) * 3, north + (north - south) * 3)  # 3 tiles away
    feeder = Feeder(code="TILE-F1")
    db.add(feeder)
    db.flush()
    nodes = [
        NetworkNode(code=f"TILE-N{i}", geom=_pt(*p), feeder_id=feeder.id)
        for i, p in enumerate([*inside, outside])
    ]
    db.add_all(nodes)
    db.flush()
    transformer = PowerTransformer(
        code="TILE-T1",
        rated_kva=160.0,
        hv_node_id=nodes[0].id,
        lv_node_id=nodes[1].id,
        geom=_pt(*inside[0]),
        feeder_id=feeder.id,
    )
    db.add(transformer)
    db.flush()
    line = "LINESTRING({} {}, {} {})"
    db.add_all(
        [
            LineSegment(
                code="TILE-MV",
                voltage_level="mv",
                kind="overhead",
                from_node_id=nodes[0].id,
                to_node_id=nodes[1].id,
                feeder_id=feeder.id,
                geom=WKTElement(line.format(*inside[0], *inside[1]), srid=4326),
            ),
            LineSegment(
                code="TILE-LV",
                voltage_level="lv",
                kind="overhead",
                from_node_id=nodes[1].id,
                to_node_id=nodes[2].id,
                feeder_id=feeder.id,
                transformer_id=transformer.id,
                geom=WKTElement(line.format(*inside[1], *inside[2]), srid=4326),
            ),
            Switch(
                code="TILE-SW",
                kind="load_break",
                from_node_id=nodes[1].id,
                to_node_id=nodes[2].id,
                normal_open=True,
                is_open=True,
                geom=_pt(*inside[1]),
                feeder_id=feeder.id,
            ),
        ]
    )
    points = [
        ServicePoint(
            code=f"TILE-SP{i}",
            kind="connection",
            node_id=nodes[i].id,
            geom=_pt(*p),
            feeder_id=feeder.id,
            transformer_id=transformer.id,
        )
        for i, p in enumerate([*inside, outside])
    ]
    db.add_all(points)
    db.flush()
    return {"feeder": feeder, "transformer": transformer, "points": points, "inside": inside}


def _get(client, headers, layer: str, z: int, lon: float = LON, lat: float = LAT):  # type: ignore[no-untyped-def]
    x, y = tile_of(lon, lat, z)
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)


def _decode(answer) -> dict:  # type: ignore[no-untyped-def]
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == MVT
    return mapbox_vector_tile.decode(answer.content)


def test_service_point_tile(client, make_user, tile_network) -> None:
    headers = bearer(make_user("technician"))
    answer = _get(client, headers, "service_points", 16)
    assert answer.headers["cache-control"] == "private, max-age=300"
    layer = _decode(answer)["service_points"]
    assert layer["extent"] == 4096
    points = tile_network["points"]
    assert sorted(f["id"] for f in layer["features"]) == sorted(p.id for p in points[:3])
    for feature in layer["features"]:
        assert feature["properties"] == {
            "id": feature["id"],
            "kind": "connection",
            "feeder_id": tile_network["feeder"].id,
            "transformer_id": tile_network["transformer"].id,
        }
    # The middle point sits in the middle of the tile (y grows upwards once decoded).
    middle = next(f for f in layer["features"] if f["id"] == points[1].id)
    x, y = middle["geometry"]["coordinates"]
    assert abs(x - 2048) <= 2
    assert abs(y - 2048) <= 60  # Mercator stretches latitudes: not exactly half-way


def test_zoom_limits(client, make_user, tile_network) -> None:
    headers = bearer(make_user("technician"))
    below = _get(client, headers, "service_points", 13)
    assert below.status_code == 200
    assert below.content == b""  # under the layer's minimum zoom: an empty tile
    at_14 = _decode(_get(client, headers, "lines", 14))["lines"]["features"]
    assert [(f["properties"]["level"], f["properties"]["feeder"]) for f in at_14] == [
        ("mv", "TILE-F1")
    ]
    at_15 = _decode(_get(client, headers, "lines", 15))["lines"]["features"]
    assert sorted(f["properties"]["level"] for f in at_15) == ["lv", "mv"]


def test_transformer_and_switch_layers(client, make_user, tile_network) -> None:
    headers = bearer(make_user("technician"))
    transformers = _decode(_get(client, headers, "transformers", 16))["transformers"]["features"]
    assert [f["properties"] for f in transformers] == [
        {
            "id": tile_network["transformer"].id,
            "code": "TILE-T1",
            "kva": 160.0,
            "feeder_id": tile_network["feeder"].id,
            "feeder": "TILE-F1",
        }
    ]
    switches = _decode(_get(client, headers, "switches", 16))["switches"]["features"]
    assert [(f["properties"]["code"], f["properties"]["open"]) for f in switches] == [
        ("TILE-SW", True)
    ]


def test_tile_of_a_generated_network_holds_every_point_in_it(
    client, make_user, db: Session
) -> None:
    generate_network(db, service_points=400, seed=9201, centre=(-60.0, -10.0))
    lon, lat = db.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom) FROM gis_service_point WHERE code = 'GEN-9201-SP0000001'"
        )
    ).one()
    z = 16
    x, y = tile_of(lon, lat, z)
    expected = db.execute(
        text(
            "SELECT array_agg(id ORDER BY id) FROM gis_service_point WHERE code LIKE 'GEN-9201-%' "
            "AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096), 4326))"
        ),
        {"z": z, "x": x, "y": y},
    ).scalar_one()
    layer = _decode(_get(client, bearer(make_user("technician")), "service_points", z, lon, lat))
    assert sorted(f["id"] for f in layer["service_points"]["features"]) == expected
    assert len(expected) > 10


def test_territory_limits_tiles(client, make_user, db: Session, tile_network) -> None:
    token = make_user("technician", agency="TILE-AG")
    west, south = tile_network["inside"][0]
    box = [
        [west - 1e-5, south - 1e-5],
        [west + 1e-5, south - 1e-5],
        [west + 1e-5, south + 1e-5],
        [west - 1e-5, south + 1e-5],
        [west - 1e-5, south - 1e-5],
    ]
    db.execute(
        text(
            "UPDATE core_agency SET territory = ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326) "
            "WHERE code = 'TILE-AG'"
        ),
        {"g": json.dumps({"type": "MultiPolygon", "coordinates": [[box]]})},
    )
    layer = _decode(_get(client, bearer(token), "service_points", 16))["service_points"]
    assert [f["id"] for f in layer["features"]] == [tile_network["points"][0].id]


def test_cookie_auth_works_for_pages(client, make_user, tile_network) -> None:
    client.cookies.set(TOKEN_COOKIE, make_user("technician"))
    try:
        answer = _get(client, {}, "transformers", 16)
        assert len(_decode(answer)["transformers"]["features"]) == 1
    finally:
        client.cookies.clear()


def test_problems(client, make_user) -> None:
    unauthenticated = client.get("/tiles/service_points/16/1/1.mvt")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == "not_authenticated"
    cashier = bearer(make_user("cashier"))
    assert client.get("/tiles/service_points/16/1/1.mvt", headers=cashier).status_code == 403
    headers = bearer(make_user("technician"))
    unknown = client.get("/tiles/customers/16/1/1.mvt", headers=headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "tile_layer_not_found"
    outside = client.get("/tiles/lines/3/8/0.mvt", headers=headers)
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["code"] == "tile_out_of_range"
    for path in ("/tiles/lines/23/0/0.mvt", "/tiles/lines/-1/0/0.mvt", "/tiles/lines/a/0/0.mvt"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 422, path
        assert answer.json()["code"] == "validation_failed"
