"""``kilowatch fraud balance`` and the ``fraud.compute_balances`` task (committed data: the
test removes what it wrote)."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from core.celery_app import celery_app
from core.db import session_scope
from kilowatch.cli import app


def _zone_months() -> int:
    with session_scope() as session:
        zones = session.scalar(
            text("SELECT (SELECT count(*) FROM gis_power_transformer) + count(*) FROM gis_feeder")
        )
    return int(zones or 0)


def _cleanup() -> None:
    """Remove the balances these tests computed (months 2024-11 .. 2025-03)."""
    with session_scope() as session:
        session.execute(
            text(
                "DELETE FROM fraud_zone_balance "
                "WHERE period_start BETWEEN '2024-11-01' AND '2025-03-01'"
            )
        )


def test_the_cli_computes_a_range_of_months_and_refuses_a_reversed_one(
    database_url: str,
) -> None:
    try:
        result = CliRunner().invoke(
            app, ["fraud", "balance", "--from", "2025-01", "--to", "2025-03", "--json"]
        )
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout[result.stdout.index("{") :])
        assert report["months"] == ["2025-01", "2025-02", "2025-03"]
        assert report["zones"] == _zone_months()
        reversed_ = CliRunner().invoke(
            app, ["fraud", "balance", "--from", "2025-03", "--to", "2025-01"]
        )
        assert reversed_.exit_code == 1
        assert "period_range_invalid" in reversed_.output
    finally:
        _cleanup()


def test_the_task_is_registered_and_computes_the_months(database_url: str) -> None:
    task = celery_app.tasks["fraud.compute_balances"]
    try:
        report = task.apply(args=("2024-11", "2025-01")).get()
        assert report["months"] == ["2024-11", "2024-12", "2025-01"]
    finally:
        _cleanup()
