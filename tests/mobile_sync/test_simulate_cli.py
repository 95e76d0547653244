"""``kilowatch handheld simulate`` end to end: the command against a live server."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kilowatch.app import build_app
from kilowatch.cli import app as cli
from mobile_sync.models import SyncOperation
from tests.conftest import process_database
from tests.mobile_sync.world import PASSWORD, build_world
from tests.support.processes import live_server


def test_simulate_command(
    committed_engine: Engine, committed_database_url: str, tmp_path: Path
) -> None:
    engine = committed_engine
    with Session(engine) as session:  # committed: the live server has its own sessions
        world = build_world(session, technicians=1, points=2, origin=(3.9, 7.9), tag="CLI")
        session.commit()
    plan = tmp_path / "plan.json"
    user = {
        "username": world.technicians[0],
        "password": PASSWORD,
        "registers": [p.register_id for p in world.points],
    }
    plan.write_text(json.dumps({"users": [user]}))
    with process_database(committed_database_url), live_server(build_app()) as url:
        result = CliRunner().invoke(
            cli,
            [
                "handheld",
                "simulate",
                "--devices",
                "2",
                "--records",
                "5",
                "--faults",
                "3",
                "--url",
                url,
                "--plan",
                str(plan),
                "--state-dir",
                str(tmp_path / "state"),
                "--batch",
                "2",
            ],
        )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["records_created"] == 10
    # Every record receipted once (a retried batch's receipts say duplicate).
    assert sum(report["receipts"].values()) >= 10
    with Session(engine) as session:
        devices = [d["device_id"] for d in report["per_device"]]
        stored = session.scalar(
            select(func.count())
            .select_from(SyncOperation)
            .where(SyncOperation.device_id.in_(devices))
        )
    assert stored == 10
