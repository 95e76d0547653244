"""The scoring commands and tasks: registered, and a bad inspections file is refused
whole with every bad line listed (nothing is committed)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from core.celery_app import celery_app
from kilowatch.cli import app


def test_the_tasks_are_registered(database_url: str) -> None:
    assert {"fraud.score_network", "fraud.train_models"} <= set(celery_app.tasks)


def test_the_cli_refuses_a_bad_inspections_file(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "inspections.csv"
    bad.write_text("usage_point,date,outcome,kind\nNOPE,2025-02-30,fraud,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["fraud", "labels", "import", str(bad)])
    assert result.exit_code == 1
    assert "line 2: date '2025-02-30' is not YYYY-MM-DD" in result.output
    assert "label_file_invalid" in result.output
    missing = tmp_path / "columns.csv"
    missing.write_text("point,day\nA,2025-01-01\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["fraud", "labels", "import", str(missing)])
    assert result.exit_code == 1
    assert "line 1: missing columns: usage_point, date, outcome" in result.output
