"""The synthetic network generator: exact sizes, complete electrical addresses, transformer
sizing, determinism, and agreement with an independent trace."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.db import session_scope
from gis import topology
from gis.generator import delete_generated_network, generate_network, generated_prefix
from gis.generator.errors import GeneratorInputInvalidError, NetworkAlreadyGeneratedError
from gis.generator.plan import plan_network
from gis.generator.sizing import STANDARD_KVA, rating_for

SEED = 9101
SIZE = 800


@pytest.fixture()
def network(db: Session) -> dict[str, object]:
    report = generate_network(db, service_points=SIZE, seed=SEED)
    return {"report": report, "prefix": generated_prefix(SEED)}


def _scalar(db: Session, sql: str, **params: object) -> object:
    return db.execute(text(sql), params).scalar_one()


def test_exact_counts_and_codes(db: Session, network: dict[str, object]) -> None:
    report = network["report"]
    like = "GEN-9101-%"
    assert report.counts["service_points"] == SIZE
    assert _scalar(db, "SELECT count(*) FROM gis_service_point WHERE code LIKE :p", p=like) == SIZE
    for table, key in (
        ("gis_power_transformer", "transformers"),
        ("gis_feeder", "feeders"),
        ("gis_substation", "substations"),
        ("gis_line_segment", "line_segments"),
        ("gis_switch", "switches"),
        ("gis_network_node", "nodes"),
    ):
        count = _scalar(db, f"SELECT count(*) FROM {table} WHERE code LIKE :p", p=like)
        assert count == report.counts[key], table
    # One transformer per 20 connections by default (a zone is never empty).
    assert report.counts["transformers"] == SIZE // 20
    first = _scalar(db, "SELECT min(code) FROM gis_service_point WHERE code LIKE :p", p=like)
    assert first == "GEN-9101-SP0000001"


def test_every_service_point_has_its_electrical_address(db: Session, network: dict) -> None:
    missing = _scalar(
        db,
        "SELECT count(*) FROM gis_service_point WHERE code LIKE 'GEN-9101-%' "
        "AND (feeder_id IS NULL OR transformer_id IS NULL OR home_feeder_id IS NULL)",
    )
    assert missing == 0
    # A service point's feeder is its transformer's feeder.
    mismatched = _scalar(
        db,
        "SELECT count(*) FROM gis_service_point sp JOIN gis_power_transformer t "
        "ON t.id = sp.transformer_id WHERE sp.code LIKE 'GEN-9101-%' "
        "AND t.feeder_id IS DISTINCT FROM sp.feeder_id",
    )
    assert mismatched == 0


def test_transformers_are_rated_for_their_downstream_load(db: Session, network: dict) -> None:
    rows = db.execute(
        text(
            "SELECT t.rated_kva, count(sp.id), sum((sp.attributes->>'demand_kva')::float8) "
            "FROM gis_power_transformer t JOIN gis_service_point sp ON sp.transformer_id = t.id "
            "WHERE t.code LIKE 'GEN-9101-%' GROUP BY t.id"
        )
    ).all()
    assert len(rows) == SIZE // 20
    for rated, customers, connected in rows:
        # Design load = connected kVA x coincidence factor (0.3 + 0.7 / sqrt(n)); the rating
        # is the smallest standard size at or above it.
        load = connected * (0.3 + 0.7 / np.sqrt(customers))
        assert rated in STANDARD_KVA
        assert rated >= load - 1e-6
        smaller = STANDARD_KVA[rated > STANDARD_KVA]
        assert len(smaller) == 0 or smaller.max() < load


def test_rating_rule() -> None:
    assert rating_for(np.array([0.1, 25.0, 25.01, 399.9, 630.0])).tolist() == [
        25.0,
        25.0,
        50.0,
        400.0,
        630.0,
    ]
    assert np.isnan(rating_for(np.array([630.5]))[0])


def test_switches_ties_are_open_between_feeders(db: Session, network: dict) -> None:
    rows = db.execute(
        text(
            "SELECT s.kind, s.normal_open, s.is_open, a.feeder_id, b.feeder_id "
            "FROM gis_switch s JOIN gis_network_node a ON a.id = s.from_node_id "
            "JOIN gis_network_node b ON b.id = s.to_node_id WHERE s.code LIKE 'GEN-9101-%'"
        )
    ).all()
    feeders = network["report"].counts["feeders"]
    breakers = [r for r in rows if r[0] == "breaker"]
    ties = [r for r in rows if r[1]]
    assert len(breakers) == feeders  # one per feeder head, closed
    assert all(not r[2] for r in breakers)
    assert len(ties) >= 1
    assert all(r[2] and r[3] != r[4] for r in ties)  # open, joining two different feeders
    closed = [r for r in rows if not r[1]]
    assert all(r[3] == r[4] for r in closed)  # closed switches stay inside one feeder


def test_trace_agrees_with_materialised_addresses(db: Session, network: dict) -> None:
    feeders = db.execute(
        text("SELECT id, code FROM gis_feeder WHERE code LIKE 'GEN-9101-%' ORDER BY id")
    ).all()
    total = 0
    for feeder_id, code in feeders:
        result = topology.trace(db, feeder_code=code, direction="downstream")
        expected_sp = (
            db.execute(
                text("SELECT id FROM gis_service_point WHERE feeder_id = :f ORDER BY id"),
                {"f": feeder_id},
            )
            .scalars()
            .all()
        )
        expected_t = (
            db.execute(
                text("SELECT id FROM gis_power_transformer WHERE feeder_id = :f ORDER BY id"),
                {"f": feeder_id},
            )
            .scalars()
            .all()
        )
        assert sorted(result.service_point_ids.tolist()) == expected_sp
        assert sorted(result.transformer_ids.tolist()) == expected_t
        total += len(expected_sp)
    assert total == SIZE
    report = topology.topology_report(db, topology.get_graph(db))
    assert report.loops == 0
    assert report.island_nodes == 0


def _fingerprint(db: Session) -> str:
    digest = hashlib.sha256()
    for table in ("gis_service_point", "gis_power_transformer", "gis_line_segment", "gis_switch"):
        rows = db.execute(
            text(f"SELECT code, ST_AsText(geom) FROM {table} WHERE code LIKE :p ORDER BY code"),
            {"p": "GEN-9101-%"},
        )
        for code, wkt in rows:
            digest.update(f"{code}|{wkt}\n".encode())
    return digest.hexdigest()


def test_same_seed_same_network(db: Session, network: dict) -> None:
    first = _fingerprint(db)
    with pytest.raises(NetworkAlreadyGeneratedError):
        generate_network(db, service_points=SIZE, seed=SEED)
    deleted = delete_generated_network(db, seed=SEED)
    assert deleted["gis_service_point"] == SIZE
    assert _fingerprint(db) == hashlib.sha256().hexdigest()  # nothing left
    generate_network(db, service_points=SIZE, seed=SEED)
    assert _fingerprint(db) == first


def test_plans_are_deterministic_and_seed_dependent() -> None:
    a = plan_network(service_points=2000, seed=1, centre_xy=(500000.0, 700000.0))
    b = plan_network(service_points=2000, seed=1, centre_xy=(500000.0, 700000.0))
    c = plan_network(service_points=2000, seed=2, centre_xy=(500000.0, 700000.0))
    assert np.array_equal(a.node_xy, b.node_xy)
    assert np.array_equal(a.segment_from, b.segment_from)
    assert np.array_equal(a.rated_kva, b.rated_kva)
    assert not np.array_equal(a.node_xy[a.sp_node], c.node_xy[c.sp_node])


def test_generation_is_one_audited_bulk_job(db: Session, network: dict) -> None:
    rows = db.execute(
        text(
            "SELECT table_name, action, (after->>'rows')::int FROM core_audit_log "
            "WHERE entity_key = 'network.generate:GEN-9101-' ORDER BY id"
        )
    ).all()
    by_table = {(t, a): n for t, a, n in rows}
    assert by_table[("gis_service_point", "insert_bulk")] == SIZE
    assert by_table[("gis_power_transformer", "insert_bulk")] == SIZE // 20
    # No per-row audit entries for a generated network.
    per_row = _scalar(
        db,
        "SELECT count(*) FROM core_audit_log WHERE table_name = 'gis_service_point' "
        "AND action = 'insert' AND after->>'code' LIKE 'GEN-9101-%'",
    )
    assert per_row == 0


def test_centre_far_away_uses_its_own_utm_zone(db: Session) -> None:
    report = generate_network(db, service_points=200, seed=9102, centre=(-47.93, -15.78))
    assert report.projected_crs == "EPSG:32723"  # Brasilia is in UTM zone 23 south
    lon, lat, radius = db.execute(
        text(
            "SELECT ST_X(ST_Centroid(ST_Collect(geom))), ST_Y(ST_Centroid(ST_Collect(geom))), "
            "max(ST_Distance(geom::geography, ST_MakePoint(-47.93, -15.78)::geography)) "
            "FROM gis_service_point WHERE code LIKE 'GEN-9102-%'"
        )
    ).one()
    assert lon == pytest.approx(-47.93, abs=0.01)
    assert lat == pytest.approx(-15.78, abs=0.01)
    assert radius < 1500  # 200 connections make a village of a few hundred metres


def test_invalid_parameters_write_nothing(db: Session) -> None:
    with pytest.raises(GeneratorInputInvalidError) as caught:
        generate_network(db, service_points=0, seed=-1, centre=(200.0, 0.0))
    fields = {e.field for e in caught.value.errors}
    assert fields == {"service_points", "seed", "centre"}
    assert _scalar(db, "SELECT count(*) FROM gis_feeder WHERE code LIKE 'GEN-%'") == 0


def test_cli_generates_with_a_progress_bar_and_rejects_bad_centre(database_url: str) -> None:
    from kilowatch.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["network", "generate", "-n", "50", "--centre", "east"])
    assert bad.exit_code == 2
    try:
        result = runner.invoke(app, ["network", "generate", "-n", "120", "--seed", "9103"])
        assert result.exit_code == 0, result.output
        assert "service_points" in result.output and "120" in result.output
        with session_scope() as session:
            count = session.execute(
                text("SELECT count(*) FROM gis_service_point WHERE code LIKE 'GEN-9103-%'")
            ).scalar_one()
        assert count == 120
    finally:
        with session_scope() as session:
            delete_generated_network(session, seed=9103)


def test_demo_step_is_idempotent(db: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from gis.generator.demo import build_demo_network

    options = SimpleNamespace(seed=9104, service_points=150, datasets_dir=str(tmp_path))
    first = build_demo_network(db, options)
    assert "ULAS628 skipped" in first  # no datasets in tmp_path
    assert "generated 150 service points" in first
    second = build_demo_network(db, options)
    assert "already present" in second
    count = _scalar(db, "SELECT count(*) FROM gis_service_point WHERE code LIKE 'GEN-9104-%'")
    assert count == 150
