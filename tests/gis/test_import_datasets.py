"""Imports of the real ANEEL BDGD feeders (../shared/datasets/grid): OpenDSS folders read
with the OpenDSS engine, and their GeoJSON twins. Skipped when the datasets are absent."""

from __future__ import annotations

import hashlib
from collections import deque
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM
from gis import service
from gis.topology import trace

pytestmark = pytest.mark.dataset

COUNT_SQL = {
    "transformers": "SELECT count(*) FROM gis_power_transformer",
    "switches": "SELECT count(*) FROM gis_switch",
    "lv_consumer_units": "SELECT count(*) FROM gis_service_point WHERE kind = 'connection'",
    "service_points": "SELECT count(*) FROM gis_service_point",
    "segments": "SELECT count(*) FROM gis_line_segment",
    "nodes": "SELECT count(*) FROM gis_network_node",
    "feeders": "SELECT count(*) FROM gis_feeder",
}


def counts(db: Session) -> dict[str, int]:
    return {k: int(db.execute(text(sql)).scalar_one()) for k, sql in COUNT_SQL.items()}


def grid(datasets_dir: Path, name: str) -> Path:
    return datasets_dir / "grid" / name


def assert_all_consumers_reachable(db: Session, feeder: str, expected: int) -> None:
    result = trace(db, feeder_code=feeder, direction="downstream")
    traced = set(result.service_point_ids.tolist())
    consumers = set(
        db.execute(text("SELECT id FROM gis_service_point WHERE kind = 'connection'")).scalars()
    )
    assert len(consumers) == expected
    assert consumers <= traced
    unaddressed = db.execute(
        text(
            "SELECT count(*) FROM gis_service_point s JOIN gis_feeder f ON f.code = :f "
            "WHERE s.kind = 'connection' AND (s.feeder_id IS DISTINCT FROM f.id "
            "OR s.transformer_id IS NULL)"
        ),
        {"f": feeder},
    ).scalar()
    assert unaddressed == 0


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("source", ["bdgd_ULAS628_dss", "bdgd_ULAS628.geojson"])
def test_ulas628_imports_with_its_known_counts_and_twice_changes_nothing(
    db: Session, datasets_dir: Path, source: str
) -> None:
    path = grid(datasets_dir, source)
    before = folder_digest(path) if path.is_dir() else None
    report = service.import_network(db, actor=SYSTEM, path=path)
    assert report.feeders == ["ULAS628"]
    assert report.records["distribution_transformer"] == 25
    assert report.records["switch"] == 37
    assert report.records["lv_consumer_unit"] == 775
    first = counts(db)
    assert first["transformers"] == 25
    assert first["switches"] == 37
    assert first["lv_consumer_units"] == 775
    assert_all_consumers_reachable(db, "ULAS628", 775)
    # LV items have no coordinates in BDGD: placed at their transformer, as derived.
    derived = db.execute(
        text(
            "SELECT count(*) FROM gis_service_point s JOIN gis_power_transformer t "
            "ON t.id = s.transformer_id WHERE s.kind = 'connection' "
            "AND s.location_precision = 'derived' AND ST_Equals(s.geom, t.geom)"
        )
    ).scalar()
    assert derived == 775

    again = service.import_network(db, actor=SYSTEM, path=path)
    assert counts(db) == first
    assert all(v["inserted"] == 0 for v in again.rows.values())
    if before is not None:
        assert folder_digest(path) == before  # the shared folder is never modified


def test_opendss_and_geojson_twins_give_the_same_assets(db: Session, datasets_dir: Path) -> None:
    service.import_network(db, actor=SYSTEM, path=grid(datasets_dir, "bdgd_ULAS628_dss"))
    first = counts(db)
    codes = db.execute(text("SELECT array_agg(code ORDER BY code) FROM gis_service_point")).scalar()
    report = service.import_network(
        db, actor=SYSTEM, path=grid(datasets_dir, "bdgd_ULAS628.geojson")
    )
    assert counts(db) == first  # same codes: the GeoJSON updates what the OpenDSS created
    assert all(v["inserted"] == 0 for v in report.rows.values())
    assert (
        db.execute(text("SELECT array_agg(code ORDER BY code) FROM gis_service_point")).scalar()
        == codes
    )


def _bfs_service_points(db: Session, head_code: str) -> set[int]:
    """Independent reference: a plain BFS over closed edges from the feeder head."""
    edges = db.execute(
        text(
            "SELECT from_node_id, to_node_id FROM gis_line_segment UNION ALL "
            "SELECT from_node_id, to_node_id FROM gis_switch WHERE NOT is_open UNION ALL "
            "SELECT hv_node_id, lv_node_id FROM gis_power_transformer"
        )
    ).all()
    adjacency: dict[int, list[int]] = {}
    for a, b in edges:
        adjacency.setdefault(a, []).append(b)
        adjacency.setdefault(b, []).append(a)
    head = db.execute(
        text("SELECT head_node_id FROM gis_feeder WHERE code = :c"), {"c": head_code}
    ).scalar()
    seen, queue = {head}, deque([head])
    while queue:
        for nxt in adjacency.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    rows = db.execute(text("SELECT id, node_id FROM gis_service_point")).all()
    return {sp for sp, node in rows if node in seen}


def test_opening_a_real_switch_removes_exactly_its_downstream_consumers(
    db: Session, datasets_dir: Path
) -> None:
    service.import_network(db, actor=SYSTEM, path=grid(datasets_dir, "bdgd_ULAS628_dss"))
    full = set(trace(db, feeder_code="ULAS628", direction="downstream").service_point_ids.tolist())
    assert full == _bfs_service_points(db, "ULAS628")
    # The closed switch with the most service points below it (but not all of them).
    best, below = None, set()
    for code in db.execute(
        text("SELECT code FROM gis_switch WHERE NOT is_open ORDER BY code")
    ).scalars():
        sps = set(
            trace(db, start=("switch", code), direction="downstream").service_point_ids.tolist()
        )
        if len(below) < len(sps) < len(full):
            best, below = code, sps
    assert best is not None and 0 < len(below) < len(full)

    service.operate_switch(db, actor=SYSTEM, code=best, open=True)
    opened = set(
        trace(db, feeder_code="ULAS628", direction="downstream").service_point_ids.tolist()
    )
    assert full - opened == below
    assert opened == _bfs_service_points(db, "ULAS628")
    service.retrace_feeders(db)
    lost = db.execute(
        text("SELECT count(*) FROM gis_service_point WHERE feeder_id IS NULL AND id = ANY(:ids)"),
        {"ids": sorted(below)},
    ).scalar()
    assert lost == len(below)

    service.operate_switch(db, actor=SYSTEM, code=best, open=False)
    restored = set(
        trace(db, feeder_code="ULAS628", direction="downstream").service_point_ids.tolist()
    )
    assert restored == full
    service.retrace_feeders(db)
    assert (
        db.execute(
            text(
                "SELECT count(*) FROM gis_service_point WHERE feeder_id IS NULL AND id = ANY(:ids)"
            ),
            {"ids": sorted(below)},
        ).scalar()
        == 0
    )


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_export_then_import_is_lossless_for_codes_and_counts(
    db: Session, datasets_dir: Path, tmp_path: Path, fmt: str
) -> None:
    service.import_network(db, actor=SYSTEM, path=grid(datasets_dir, "bdgd_ULAS628_dss"))
    snapshot_sql = (
        "SELECT 'tx:' || code FROM gis_power_transformer UNION ALL "
        "SELECT 'sw:' || code || ':' || is_open FROM gis_switch UNION ALL "
        "SELECT 'seg:' || code || ':' || kind || ':' || voltage_level FROM gis_line_segment "
        "UNION ALL SELECT 'sp:' || code || ':' || kind || ':' || location_precision "
        "FROM gis_service_point UNION ALL SELECT 'node:' || code FROM gis_network_node"
    )
    before = sorted(db.execute(text(snapshot_sql)).scalars())
    data = service.export_feeder(db, actor=SYSTEM, code="ULAS628", format=fmt)
    exported = tmp_path / f"ULAS628.{fmt}"
    exported.write_bytes(data)
    # Into an empty network (a savepoint rolled back afterwards).
    nested = db.begin_nested()
    for table in ("gis_service_point", "gis_switch", "gis_line_segment", "gis_power_transformer"):
        db.execute(text(f"DELETE FROM {table}"))
    db.execute(text("UPDATE gis_feeder SET head_node_id = NULL"))
    db.execute(text("DELETE FROM gis_network_node"))
    db.execute(text("DELETE FROM gis_feeder"))
    report = service.import_network(db, actor=SYSTEM, path=exported)
    after = sorted(db.execute(text(snapshot_sql)).scalars())
    assert report.rows["service_point"]["inserted"] == 964
    assert after == before
    assert_all_consumers_reachable(db, "ULAS628", 775)
    nested.rollback()


@pytest.mark.parametrize("source", ["bdgd_ULAU01_dss", "bdgd_ULAU01.geojson"])
def test_ulau01_imports_with_its_known_counts(db: Session, datasets_dir: Path, source: str) -> None:
    """The larger rural feeder (~17,000 records, 4 regulators): a few seconds each."""
    report = service.import_network(db, actor=SYSTEM, path=grid(datasets_dir, source))
    assert report.records["voltage_regulator"] == 4
    first = counts(db)
    assert first["transformers"] == 718
    assert first["lv_consumer_units"] == 1808
    assert first["switches"] == 325
    assert_all_consumers_reachable(db, "ULAU01", 1808)
    service.import_network(db, actor=SYSTEM, path=grid(datasets_dir, source))
    assert counts(db) == first
