"""The data-migration round trip (issue 9): the demo utility exported in the format,
imported into an empty database (its network generated with the same seed first, as a
utility imports its network before its customers), and exported again, gives the same
files byte for byte; importing them once more changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from core.context import SYSTEM, acting_as
from core.migrate import upgrade
from core.migration.export import run_export
from core.migration.service import MigrationReport, run_import
from core.scratch_db import create_scratch_database
from gis.generator import generate_network
from kilowatch.demo_utility.builder import build_demo_utility, service_points_for
from tests.customers.migration_files import ADMIN

SEED = 3
CUSTOMERS = 200
ENTITIES = [
    "installations",
    "meters",
    "parties",
    "premises",
    "usage_points",
    "contracts",
    "zone_meters",
]


@pytest.fixture(scope="module")
def demo_export(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo utility built in the test database (rolled back after) and exported."""
    target = tmp_path_factory.mktemp("demo_export")
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        with acting_as(SYSTEM, request_id="test-round-trip"):
            build_demo_utility(session, customers=CUSTOMERS, seed=SEED)
        run_export(session, target)
    finally:
        session.close()
        outer.rollback()
        connection.close()
    return target


@pytest.fixture(scope="module")
def empty_database() -> Iterator[Engine]:
    """A freshly migrated database holding nothing but the demo's generated network."""
    scratch = create_scratch_database("kw_roundtrip", os.environ.get("KILOWATCH_TEST_SERVER_URL"))
    try:
        upgrade(scratch.url)
        engine = create_engine(scratch.url)
        with Session(engine) as session, acting_as(SYSTEM, request_id="test-round-trip"):
            generate_network(session, service_points=service_points_for(CUSTOMERS, 0), seed=SEED)
            session.commit()
        yield engine
        engine.dispose()
    finally:
        scratch.drop()


def _import(engine: Engine, folder: Path) -> MigrationReport:
    with Session(engine) as session, acting_as(SYSTEM, request_id="test-round-trip"):
        report = run_import(session, actor=ADMIN, source=folder)
        session.commit()
        return report


def _files(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.csv"))}


def test_round_trip_gives_identical_files_and_reimport_changes_nothing(
    demo_export: Path, empty_database: Engine, tmp_path: Path
) -> None:
    first = _files(demo_export)
    assert sorted(first) == sorted(ENTITIES)
    rows = {name: text.count("\n") - 1 for name, text in first.items()}
    assert rows["parties"] >= CUSTOMERS and rows["installations"] > rows["usage_points"] > 0
    assert rows["zone_meters"] > 0

    report = _import(empty_database, demo_export)
    assert report.problems == []
    assert {n: e.inserted for n, e in report.entities.items()} == rows
    with Session(empty_database) as session:
        run_export(session, tmp_path / "again")
    second = _files(tmp_path / "again")
    for name in ENTITIES:
        assert second[name] == first[name], name

    again = _import(empty_database, demo_export)
    assert {n: (e.inserted, e.updated) for n, e in again.entities.items()} == {
        n: (0, 0) for n in ENTITIES
    }
