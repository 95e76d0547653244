"""The migration kit with a test entity: reading, typing, the refusal, dry runs, partial
runs with parked rows, and idempotent re-imports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.context import Actor
from core.migration.models import MigrationKey, MigrationParked, MigrationRun
from core.migration.service import MigrationInvalidError, run_import
from tests.core.migration_entity import gadgets_only

ADMIN = Actor(user_id=None, username="migrator", scopes=frozenset({"*"}))
HEADER = "code,name,count,price,weight,born,seen,active\n"
GOOD = (
    "G-1,Lamp,3,12.50,1.5,2024-01-31,2024-01-31T08:00:00+01:00,true\n"
    "G-2,Fan,0,0.99,2,2023-12-01,,no\n"
)


@pytest.fixture()
def gadgets(db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with gadgets_only(monkeypatch, db):
        yield


def _folder(tmp_path: Path, body: str, header: str = HEADER, name: str = "gadgets") -> Path:
    folder = tmp_path / "base"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.csv").write_text(header + body, encoding="utf-8")
    return folder


def _refusal(db: Session, folder: Path, **options: bool) -> set[tuple[str, int, str, str]]:
    with pytest.raises(MigrationInvalidError) as refused:
        run_import(db, actor=ADMIN, source=folder, **options)
    return {(p.file, p.line, p.field, p.code) for p in refused.value.problems}


def _gadgets(db: Session) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT code, name, count, price::text, weight, born::text, active "
                "FROM test_gadget ORDER BY code"
            )
        )
    ]


def test_good_files_are_typed_written_and_mapped(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    report = run_import(db, actor=ADMIN, source=_folder(tmp_path, GOOD))
    assert report.status == "done"
    assert report.entities["gadgets"].rows == 2
    assert report.entities["gadgets"].inserted == 2
    assert _gadgets(db) == [
        ("G-1", "Lamp", 3, "12.50", 1.5, "2024-01-31", True),
        ("G-2", "Fan", 0, "0.99", 2.0, "2023-12-01", False),
    ]
    seen = db.execute(text("SELECT seen AT TIME ZONE 'UTC' FROM test_gadget WHERE code='G-1'"))
    assert str(seen.scalar_one()) == "2024-01-31 07:00:00"
    keys = db.scalars(select(MigrationKey.external_key).where(MigrationKey.entity == "gadgets"))
    assert sorted(keys) == ["G-1", "G-2"]
    run = db.get_one(MigrationRun, report.run_id)
    assert run.status == "done" and run.report is not None
    assert run.report["entities"]["gadgets"]["inserted"] == 2
    assert run.progress["gadgets"] == {"done": 2, "total": 2}


def test_each_type_names_its_bad_values_with_file_line_and_field(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    body = "G-1,Lamp,three,12.50,1.5,2024-01-31,,true\nG-2,Fan,1,12,50,heavy,2024-02-30,,true\n"
    # line 3 has one field too many: the CSV reader refuses the whole file
    assert _refusal(db, _folder(tmp_path, body)) == {("gadgets.csv", 1, "", "unreadable_file")}
    body = (
        "G-1,Lamp,three,1.2.3,1.5,2024-01-31,,true\n"
        "G-2,Fan,1,12,heavy,2024-02-30,2024-01-31T08:00:00,maybe\n"
        "G-3,Bulb,1.5,1e3,1e3,31/01/2024,2024-13-01T00:00:00Z,1\n"
    )
    assert _refusal(db, _folder(tmp_path, body)) == {
        ("gadgets.csv", 2, "count", "invalid_integer"),
        ("gadgets.csv", 2, "price", "invalid_decimal"),
        ("gadgets.csv", 3, "weight", "invalid_float"),
        ("gadgets.csv", 3, "born", "invalid_date"),
        ("gadgets.csv", 3, "seen", "invalid_timestamp"),
        ("gadgets.csv", 3, "active", "invalid_boolean"),
        ("gadgets.csv", 4, "count", "invalid_integer"),
        ("gadgets.csv", 4, "price", "invalid_decimal"),
        ("gadgets.csv", 4, "born", "invalid_date"),
        ("gadgets.csv", 4, "seen", "invalid_timestamp"),
    }
    assert _gadgets(db) == []


def test_missing_required_unknown_column_and_duplicate_key(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    body = "G-1,Lamp,,x\nG-2,,,x\nG-1,Again,,x\n,Keyless,,x\n,Keyless too,,x\n"
    folder = _folder(tmp_path, body, header="code,name,count,colour\n")
    assert _refusal(db, folder) == {
        ("gadgets.csv", 1, "colour", "unknown_column"),
        ("gadgets.csv", 3, "name", "missing_required"),
        ("gadgets.csv", 4, "code", "duplicate_key"),
        ("gadgets.csv", 5, "code", "missing_required"),
        ("gadgets.csv", 6, "code", "missing_required"),
    }
    (folder / "widgets.csv").write_text("a\n1\n")
    (folder / "gadgets.csv").write_text("code,count\nG-1,1\n")
    assert _refusal(db, folder) == {
        ("widgets.csv", 1, "", "unknown_file"),
        ("gadgets.csv", 1, "name", "missing_column"),
    }


def test_a_rule_of_the_entity_refuses_the_whole_file(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    body = GOOD + "G-3,Bad,-1,,,,,\n"
    assert _refusal(db, _folder(tmp_path, body)) == {("gadgets.csv", 4, "count", "negative_count")}
    assert _gadgets(db) == []
    assert db.scalar(select(MigrationKey).where(MigrationKey.entity == "gadgets")) is None


def test_a_dry_run_reports_and_writes_nothing(db: Session, gadgets: None, tmp_path: Path) -> None:
    report = run_import(db, actor=ADMIN, source=_folder(tmp_path, GOOD), dry_run=True)
    assert report.status == "dry"
    assert report.entities["gadgets"].rows == 2
    assert report.entities["gadgets"].inserted == 0
    assert _gadgets(db) == []
    run = db.get_one(MigrationRun, report.run_id)
    assert (run.status, run.dry_run) == ("dry", True)


def test_partial_parks_the_bad_rows_and_writes_the_rest(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    body = GOOD + "G-3,Bad,-1,,,,,\nG-4,,x,,,,,\n"
    report = run_import(db, actor=ADMIN, source=_folder(tmp_path, body), partial=True)
    assert report.status == "done"
    assert report.entities["gadgets"].inserted == 2
    assert report.entities["gadgets"].parked == 2
    assert [g[0] for g in _gadgets(db)] == ["G-1", "G-2"]
    parked = db.scalars(
        select(MigrationParked)
        .where(MigrationParked.run_id == report.run_id)
        .order_by(MigrationParked.line)
    ).all()
    assert [(p.line, p.data["code"], [q["code"] for q in p.problems]) for p in parked] == [
        (4, "G-3", ["negative_count"]),
        (5, "G-4", ["missing_required", "invalid_integer"]),
    ]
    assert parked[1].data == {
        "code": "G-4",
        "name": "",
        "count": "x",
        "price": "",
        "weight": "",
        "born": "",
        "seen": "",
        "active": "",
    }


def test_reimport_changes_nothing_and_a_correction_updates_one_row_with_one_entry(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, GOOD)
    run_import(db, actor=ADMIN, source=folder)
    again = run_import(db, actor=ADMIN, source=folder)
    assert (again.entities["gadgets"].inserted, again.entities["gadgets"].updated) == (0, 0)
    assert again.entities["gadgets"].unchanged == 2
    (folder / "gadgets.csv").write_text(HEADER + GOOD.replace("Fan", "Big fan"))
    fixed = run_import(db, actor=ADMIN, source=folder)
    assert (fixed.entities["gadgets"].inserted, fixed.entities["gadgets"].updated) == (0, 1)
    updates = db.scalars(
        select(AuditLog).where(AuditLog.table_name == "test_gadget", AuditLog.action == "update")
    ).all()
    assert [(u.before, u.after) for u in updates] == [({"name": "Fan"}, {"name": "Big fan"})]


def test_a_bom_and_an_xlsx_workbook_read_the_same(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    folder = tmp_path / "bom"
    folder.mkdir()
    (folder / "gadgets.csv").write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD).encode())
    run_import(db, actor=ADMIN, source=folder)
    first = _gadgets(db)
    db.execute(text("DELETE FROM test_gadget"))
    db.execute(text("DELETE FROM core_migration_key WHERE entity = 'gadgets'"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "gadgets"
    for line in (HEADER + GOOD).splitlines():
        sheet.append(line.split(","))
    book.save(tmp_path / "base.xlsx")
    report = run_import(db, actor=ADMIN, source=tmp_path / "base.xlsx")
    assert report.entities["gadgets"].inserted == 2
    assert _gadgets(db) == first


def test_a_parked_row_keeps_its_text_exactly(db: Session, gadgets: None, tmp_path: Path) -> None:
    name = 'He said "hi" \\ then\ttab\x01 and\nnewline, é'
    quoted = '"' + name.replace('"', '""') + '"'
    body = f"G-1,{quoted},-1,,,,,\n"
    report = run_import(db, actor=ADMIN, source=_folder(tmp_path, body), partial=True)
    parked = db.scalars(select(MigrationParked).where(MigrationParked.run_id == report.run_id))
    assert [p.data["name"] for p in parked] == [name]


def _estimated_rows(db: Session, query: str) -> int:
    plan = db.execute(text(f"EXPLAIN (FORMAT JSON) {query}")).scalar_one()
    return int(plan[0]["Plan"]["Plan Rows"])


def test_a_large_import_refreshes_the_key_maps_statistics_in_its_transaction(
    db: Session, gadgets: None, tmp_path: Path
) -> None:
    # Autovacuum only sees the rows after the commit: the later entities of the run, and a
    # re-import right after it, planned on a key map believed empty (a 116 s re-import).
    body = "".join(f"G-{n},Thing {n},{n},1.00,1,2024-01-31,,true\n" for n in range(1, 3001))
    run_import(db, actor=ADMIN, source=_folder(tmp_path, body))
    assert _estimated_rows(db, "SELECT * FROM core_migration_key WHERE entity = 'gadgets'") > 2000
