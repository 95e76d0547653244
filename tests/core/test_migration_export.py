"""The format written out: export (a lossless round trip), templates, the reference, and
parked rows exported for correction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.migration.export import (
    export_parked,
    format_reference,
    run_export,
    templates_zip,
    write_templates,
)
from core.migration.service import run_import
from tests.core.migration_entity import gadgets_only

ADMIN = Actor(user_id=None, username="migrator", scopes=frozenset({"*"}))
HEADER = "code,name,count,price,weight,born,seen,active\n"


@pytest.fixture()
def gadgets(db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with gadgets_only(monkeypatch, db):
        yield


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_import_export_import_export_gives_identical_files(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    source = tmp_path / "legacy"
    source.mkdir()
    # As a legacy system writes it: unsorted, spaces, local zone, loose booleans.
    (source / "gadgets.csv").write_text(
        HEADER
        + 'G-9," Fan, big ",0,0.990,2.0,2023-12-01,,no\n'
        + "G-1,Lamp,3,12.50,1.5,2024-01-31,2024-01-31T08:00:00+01:00,TRUE\n"
    )
    run_import(db, actor=ADMIN, source=source)
    run_export(db, tmp_path / "first")
    assert _files(tmp_path / "first") == {
        "gadgets.csv": HEADER
        + "G-1,Lamp,3,12.50,1.5,2024-01-31,2024-01-31T07:00:00+00:00,true\n"
        + 'G-9,"Fan, big",0,0.990,2,2023-12-01,,false\n'
    }
    db.execute(text("DELETE FROM test_gadget"))
    db.execute(text("DELETE FROM core_migration_key WHERE entity = 'gadgets'"))
    run_import(db, actor=ADMIN, source=tmp_path / "first")
    run_export(db, tmp_path / "second")
    assert _files(tmp_path / "second") == _files(tmp_path / "first")
    run_export(db, tmp_path / "book.xlsx", "xlsx")
    db.execute(text("DELETE FROM test_gadget"))
    db.execute(text("DELETE FROM core_migration_key WHERE entity = 'gadgets'"))
    run_import(db, actor=ADMIN, source=tmp_path / "book.xlsx")
    run_export(db, tmp_path / "third")
    assert _files(tmp_path / "third") == _files(tmp_path / "first")


def test_templates_hold_the_header_and_two_examples_and_import_as_they_are(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    assert write_templates(tmp_path / "tpl") == ["gadgets"]
    assert (tmp_path / "tpl" / "gadgets.csv").read_text() == (
        HEADER
        + "G-1,Lamp,3,12.50,1.5,2024-01-31,2024-01-31T08:00:00+01:00,true\n"
        + "G-2,Fan,0,0.99,2,2023-12-01,,false\n"
    )
    report = run_import(db, actor=ADMIN, source=tmp_path / "tpl", dry_run=True)
    assert report.problems == [] and report.entities["gadgets"].rows == 2
    archive = tmp_path / "tpl.zip"
    archive.write_bytes(templates_zip())
    assert run_import(db, actor=ADMIN, source=archive).entities["gadgets"].inserted == 2


def test_the_reference_lists_every_column_with_type_and_requirement(gadgets: None) -> None:
    reference = format_reference()
    assert "## `gadgets`: Gadgets (tests only)" in reference
    assert "| `code` | text | yes | the legacy key |" in reference
    assert "| `born` | date |  |  |" in reference


def test_parked_rows_export_as_files_that_import_once_corrected(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    source = tmp_path / "legacy"
    source.mkdir()
    (source / "gadgets.csv").write_text(HEADER + "G-1,Lamp,3,,,,,\nG-2,Fan,-4,,,,,\n")
    report = run_import(db, actor=ADMIN, source=source, partial=True)
    assert export_parked(db, report.run_id, tmp_path / "parked") == 1
    parked = tmp_path / "parked" / "gadgets.csv"
    assert parked.read_text() == HEADER + "G-2,Fan,-4,,,,,\n"
    parked.write_text(parked.read_text().replace("-4", "4"))
    again = run_import(db, actor=ADMIN, source=tmp_path / "parked")
    assert again.entities["gadgets"].inserted == 1
    names = db.execute(text("SELECT code, count FROM test_gadget ORDER BY code")).all()
    assert [tuple(r) for r in names] == [("G-1", 3), ("G-2", 4)]
