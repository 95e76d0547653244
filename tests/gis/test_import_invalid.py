"""Bad network files are rejected whole, naming each bad record; CRS are transformed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.context import SYSTEM
from gis import service
from gis.errors import NetworkFormatUnsupportedError, NetworkImportInvalidError
from tests.gis.networks import MV, feature, point, small_network, write

ROW_COUNT = """SELECT (SELECT count(*) FROM gis_feeder) + (SELECT count(*) FROM gis_network_node)
  + (SELECT count(*) FROM gis_line_segment) + (SELECT count(*) FROM gis_switch)
  + (SELECT count(*) FROM gis_power_transformer) + (SELECT count(*) FROM gis_service_point)"""


def corrupted(tmp_path: Path) -> Path:
    """The small network, its nodes listed explicitly, with one bad record of each sort."""
    features = small_network()
    nodes = sorted(
        {
            f["properties"][k]
            for f in features
            for k in ("bus", "bus1", "bus2", "hv_bus", "lv_bus")
            if k in f["properties"]
        }
    )
    features += [feature("node", point(MV[n]) if n in MV else None, code=n) for n in nodes]
    features += [
        # Bad geometry: not lon/lat (a CRS mix-up).
        feature(
            "mv_segment",
            {"type": "LineString", "coordinates": [[500000, 9200000], [500100, 9200100]]},
            code="bad-geom",
            bus1="a",
            bus2="e",
        ),
        # Invalid geometry: a self-intersecting polygon where a point is expected.
        feature(
            "lv_consumer_unit",
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            code="bowtie",
            bus="x1",
        ),
        feature("gizmo", None, code="G1"),  # unknown kind
        feature("lv_segment", None, code="dangling", bus1="x2", bus2="nowhere"),
        feature(
            "distribution_transformer", point(MV["b"]), code="no-kva", hv_bus="b", lv_bus="bl"
        ),  # missing required property
        feature("lv_consumer_unit", None, bus="x1"),  # no code at all: named by its index
        feature("lv_consumer_unit", None, code="B1", bus="x2"),  # duplicate code
    ]
    return write(tmp_path / "corrupted.geojson", features)


def test_a_corrupted_file_writes_nothing_and_names_each_bad_record(
    db: Session, tmp_path: Path
) -> None:
    before = db.execute(text(ROW_COUNT)).scalar()
    path = corrupted(tmp_path)
    nameless = len(json.loads(path.read_text())["features"]) - 2  # its index in the file
    with pytest.raises(NetworkImportInvalidError) as caught:
        service.import_network(db, actor=SYSTEM, path=path)
    problems = {(e.field, e.code) for e in caught.value.errors}
    assert caught.value.code == "network_import_invalid"
    assert problems == {
        ("mv_segment:bad-geom", "invalid_geometry"),
        ("lv_consumer_unit:bowtie", "invalid_geometry"),
        ("gizmo:G1", "unknown_kind"),
        ("distribution_transformer:no-kva", "missing_property"),
        (f"lv_consumer_unit:#{nameless}", "missing_property"),
        ("lv_segment:dangling", "dangling_node"),
        ("lv_consumer_unit:B1", "duplicate_code"),
    }
    assert db.execute(text(ROW_COUNT)).scalar() == before


def test_an_unknown_crs_is_rejected(db: Session, tmp_path: Path) -> None:
    path = write(tmp_path / "small.geojson", small_network())
    with pytest.raises(NetworkImportInvalidError) as caught:
        service.import_network(db, actor=SYSTEM, path=path, crs="EPSG:999999")
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("file:small.geojson", "unknown_crs")
    ]


def test_a_projected_file_is_transformed_to_wgs84(db: Session, tmp_path: Path) -> None:
    """Coordinates in UTM zone 31N (EPSG:32631), declared on the command line."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    features = small_network()
    for f in features:
        geometry = f["geometry"]
        if geometry and geometry["type"] == "Point":
            geometry["coordinates"] = list(to_utm.transform(*geometry["coordinates"]))
        elif geometry:
            geometry["coordinates"] = [list(to_utm.transform(*c)) for c in geometry["coordinates"]]
    path = write(tmp_path / "utm.geojson", features)
    report = service.import_network(db, actor=SYSTEM, path=path, crs="EPSG:32631")
    assert report.crs == "EPSG:32631"
    lon, lat = db.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gis_power_transformer WHERE code = 'T2'")
    ).one()
    assert lon == pytest.approx(MV["d"][0], abs=1e-7)
    assert lat == pytest.approx(MV["d"][1], abs=1e-7)
    srids = db.scalars(
        text("SELECT DISTINCT ST_SRID(geom) FROM gis_line_segment WHERE geom IS NOT NULL")
    )
    assert list(srids) == [4326]


def test_an_unknown_format_is_refused(db: Session, tmp_path: Path) -> None:
    path = tmp_path / "network.csv"
    path.write_text("kind,code\n")
    with pytest.raises(NetworkFormatUnsupportedError):
        service.import_network(db, actor=SYSTEM, path=path)


def test_the_cli_lists_bad_records_and_exits_non_zero(database_url: str, tmp_path: Path) -> None:
    from kilowatch.cli import app

    result = CliRunner().invoke(app, ["network", "import", str(corrupted(tmp_path))])
    assert result.exit_code == 1
    assert "network_import_invalid" in result.output
    for name in ("mv_segment:bad-geom", "gizmo:G1", "lv_segment:dangling", "B1"):
        assert name in result.output


def _transformer_t1(features: list[dict]) -> dict:
    return next(f for f in features if f["properties"].get("code") == "T1")


def test_a_reimported_feature_whose_geometry_does_not_parse_is_refused(
    db: Session, tmp_path: Path
) -> None:
    service.import_network(db, actor=SYSTEM, path=write(tmp_path / "a.geojson", small_network()))
    where = "SELECT ST_AsText(geom) FROM gis_power_transformer WHERE code = 'T1'"
    before = db.execute(text(where)).scalar()
    for broken in (["x", "y"], [2.42], "2.42,6.40"):
        features = small_network()
        _transformer_t1(features)["geometry"] = {"type": "Point", "coordinates": broken}
        with pytest.raises(NetworkImportInvalidError) as caught:
            service.import_network(db, actor=SYSTEM, path=write(tmp_path / "b.geojson", features))
        assert [(e.field, e.code) for e in caught.value.errors] == [
            ("distribution_transformer:T1", "invalid_geometry")
        ], broken
        assert db.execute(text(where)).scalar() == before == "POINT(2.42 6.4)"


def test_a_reimport_keeps_what_it_replaced_in_the_audit_trail(db: Session, tmp_path: Path) -> None:
    service.import_network(db, actor=SYSTEM, path=write(tmp_path / "a.geojson", small_network()))
    features = small_network()
    t1 = _transformer_t1(features)
    t1["geometry"] = point((2.425, 6.405))
    t1["properties"]["kva"] = 250
    report = service.import_network(db, actor=SYSTEM, path=write(tmp_path / "b.geojson", features))
    assert report.rows["transformer"] == {"inserted": 0, "updated": 3}
    t1_id = db.execute(text("SELECT id FROM gis_power_transformer WHERE code = 'T1'")).scalar()
    rows = db.execute(
        text(
            "SELECT before, after FROM core_audit_log WHERE table_name = 'gis_power_transformer' "
            "AND action = 'update' AND entity_key = :k ORDER BY id"
        ),
        {"k": str(t1_id)},
    ).all()
    # One row for T1 (T2 and T3 did not change): the old rating and position, recoverable.
    assert len(rows) == 1
    before, after = rows[0]
    assert (before["rated_kva"], after["rated_kva"]) == (100.0, 250.0)
    assert before["geom"]["coordinates"] == [2.42, 6.4]
    assert after["geom"]["coordinates"] == [2.425, 6.405]


def test_a_geopackage_geometry_gdal_cannot_parse_is_refused(db: Session, tmp_path: Path) -> None:
    """GDAL reads a broken GeoPackage geometry blob as no geometry at all; the import
    compares with the blobs stored in the file and refuses the feature by name."""
    import sqlite3

    import geopandas as gpd

    source = write(tmp_path / "a.geojson", small_network())
    gpkg = tmp_path / "network.gpkg"
    gpd.read_file(source).to_file(gpkg, driver="GPKG", layer="network")
    with sqlite3.connect(gpkg) as sqlite:
        column = sqlite.execute("SELECT column_name FROM gpkg_geometry_columns").fetchone()[0]
        # The spatial-index triggers call SpatiaLite functions plain SQLite lacks.
        triggers = sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for (trigger,) in triggers.fetchall():
            sqlite.execute(f'DROP TRIGGER "{trigger}"')
        sqlite.execute(f"UPDATE network SET {column} = X'47500003DEADBEEF' WHERE code = 'T1'")
    before = db.execute(text(ROW_COUNT)).scalar()
    with pytest.raises(NetworkImportInvalidError) as caught:
        service.import_network(db, actor=SYSTEM, path=gpkg)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("distribution_transformer:T1", "invalid_geometry")
    ]
    assert db.execute(text(ROW_COUNT)).scalar() == before
