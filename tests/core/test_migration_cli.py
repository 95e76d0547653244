"""``kilowatch migrate``: import (exit 0, a refusal exits 1 naming every problem), export,
templates, the format reference. These commit, on a test entity's own table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from core.db import session_scope
from kilowatch.cli import app
from tests.core.migration_entity import committed_gadgets

HEADER = "code,name,count,price,weight,born,seen,active\n"
GOOD = "G-1,Lamp,3,12.50,1.5,2024-01-31,,true\nG-2,Fan,0,0.99,2,2023-12-01,,no\n"


@pytest.fixture()
def gadgets(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with committed_gadgets(monkeypatch):
        yield


def _codes() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(text("SELECT code FROM test_gadget ORDER BY code")))


def _base(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "base"
    folder.mkdir(exist_ok=True)
    (folder / "gadgets.csv").write_text(HEADER + body)
    return folder


def test_import_commits_and_a_second_run_changes_nothing(gadgets: None, tmp_path: Path) -> None:
    folder = _base(tmp_path, GOOD)
    first = CliRunner().invoke(app, ["migrate", "import", str(folder), "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout.strip().splitlines()[-1])
    assert report["entities"]["gadgets"]["inserted"] == 2
    assert _codes() == ["G-1", "G-2"]
    again = CliRunner().invoke(app, ["migrate", "import", str(folder), "--json"])
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert report["entities"]["gadgets"] | {"seconds": 0, "staging_seconds": 0} == {
        "rows": 2,
        "inserted": 0,
        "updated": 0,
        "unchanged": 2,
        "parked": 0,
        "problems": 0,
        "seconds": 0,
        "staging_seconds": 0,
    }


def test_a_refused_import_exits_1_naming_every_problem_and_writes_nothing(
    gadgets: None, tmp_path: Path
) -> None:
    folder = _base(tmp_path, GOOD + "G-3,,x,,,,,\n")
    result = CliRunner().invoke(app, ["migrate", "import", str(folder)])
    assert result.exit_code == 1
    assert "gadgets.csv:4:name" in result.output and "missing_required" in result.output
    assert "gadgets.csv:4:count" in result.output and "invalid_integer" in result.output
    assert _codes() == []


def test_dry_run_and_partial(gadgets: None, tmp_path: Path) -> None:
    folder = _base(tmp_path, GOOD + "G-3,,x,,,,,\n")
    dry = CliRunner().invoke(app, ["migrate", "import", str(folder), "--dry-run", "--partial"])
    assert dry.exit_code == 0, dry.output
    assert _codes() == []
    partial = CliRunner().invoke(app, ["migrate", "import", str(folder), "--partial", "--json"])
    assert partial.exit_code == 0, partial.output
    assert json.loads(partial.stdout.strip().splitlines()[-1])["entities"]["gadgets"]["parked"] == 1
    assert _codes() == ["G-1", "G-2"]


def test_export_template_and_formats(gadgets: None, tmp_path: Path) -> None:
    CliRunner().invoke(app, ["migrate", "import", str(_base(tmp_path, GOOD))])
    out = CliRunner().invoke(app, ["migrate", "export", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "out" / "gadgets.csv").read_text() == (
        HEADER + "G-1,Lamp,3,12.50,1.5,2024-01-31,,true\nG-2,Fan,0,0.99,2,2023-12-01,,false\n"
    )
    book = CliRunner().invoke(
        app, ["migrate", "template", str(tmp_path / "t.xlsx"), "--format", "xlsx"]
    )
    assert book.exit_code == 0 and (tmp_path / "t.xlsx").stat().st_size > 0
    formats = CliRunner().invoke(app, ["migrate", "formats"])
    assert "| `price` | decimal |  |  |" in formats.stdout
    bad = CliRunner().invoke(app, ["migrate", "export", str(tmp_path / "x"), "--format", "ods"])
    assert bad.exit_code == 2
