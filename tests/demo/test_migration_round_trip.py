"""The data-migration round trip: the demo utility exported in the format, imported into
an empty database (holding only the same generated network), exported again: the files
are identical, and importing them once more changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from core import db as core_db
from core.context import SYSTEM, acting_as
from core.migrate import upgrade
from core.migration.export import run_export
from core.migration.service import run_import
from core.scratch_db import create_scratch_database
from gis.generator import generate_network
from kilowatch.demo_utility.builder import build_demo_utility, service_points_for

SEED = 4_343
CUSTOMERS = 300
SERVICE_POINTS = 300


@pytest.fixture()
def empty_database(database_url: str) -> Iterator[str]:
    """A second database, migrated, holding only the demo's network (same seed)."""
    scratch = create_scratch_database(
        "kw_test_roundtrip", os.environ.get("KILOWATCH_TEST_SERVER_URL")
    )
    try:
        upgrade(scratch.url)
        with acting_as(SYSTEM), core_db.session_scope(scratch.url) as session:
            generate_network(
                session,
                service_points=service_points_for(CUSTOMERS, SERVICE_POINTS),
                seed=SEED,
            )
        yield scratch.url
    finally:
        core_db.get_engine(scratch.url).dispose()
        scratch.drop()


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_export_import_export_gives_identical_files(
    db: Session, empty_database: str, tmp_path: Path
) -> None:
    with acting_as(SYSTEM, request_id="test-roundtrip"):
        build_demo_utility(
            db,
            customers=CUSTOMERS,
            seed=SEED,
            service_points=SERVICE_POINTS,
            first_month=date(2024, 1, 1),
        )
    counts = run_export(db, tmp_path / "demo")
    assert counts["parties"] >= CUSTOMERS and counts["contracts"] >= CUSTOMERS
    with acting_as(SYSTEM), core_db.session_scope(empty_database) as session:
        report = run_import(session, actor=SYSTEM, source=tmp_path / "demo")
    assert report.problems == []
    with core_db.session_scope(empty_database) as session:
        again = run_export(session, tmp_path / "again")
    assert again == counts
    assert _files(tmp_path / "again") == _files(tmp_path / "demo")
    with acting_as(SYSTEM), core_db.session_scope(empty_database) as session:
        second = run_import(session, actor=SYSTEM, source=tmp_path / "again")
    assert {n: (e.inserted, e.updated) for n, e in second.entities.items()} == {
        n: (0, 0) for n in second.entities
    }
