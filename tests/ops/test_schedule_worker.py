"""A scheduled job due while the workers were down runs once when they return: a real
Celery worker on a real Redis. Beat ticks (twice, as a restarted beat would) while no
worker runs; the one queued run waits in Redis; the worker comes back and runs it once."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from core.celery_app import celery_app
from core.db import session_scope
from core.scheduling import service
from core.scheduling.models import ScheduledJob, ScheduledJobRun
from core.scheduling.tasks import tick_and_send
from tests.core.test_worker import _switch_broker
from tests.support.processes import Worker, redis_server

pytestmark = pytest.mark.worker


@pytest.fixture()
def broker(database_url: str) -> Iterator[dict[str, str]]:
    with redis_server() as url:
        env = {**os.environ, "KILOWATCH_BROKER_URL": url, "KILOWATCH_DATABASE_URL": database_url}
        previous = dict(celery_app.conf)
        _switch_broker(url, eager=False)
        try:
            yield env
        finally:
            _switch_broker(previous["broker_url"], eager=previous["task_always_eager"])


def _runs(job_id: int) -> list[ScheduledJobRun]:
    with session_scope() as session:
        return list(
            session.scalars(select(ScheduledJobRun).where(ScheduledJobRun.job_id == job_id))
        )


def test_a_run_missed_while_workers_were_down_runs_once(
    broker: dict[str, str], output_dir: Path
) -> None:
    now = datetime.now(UTC)
    with session_scope() as session:
        # Pause the seeded calendar: only our job is due.
        paused = list(session.scalars(select(ScheduledJob.id).where(ScheduledJob.enabled)))
        session.execute(ScheduledJob.__table__.update().values(enabled=False))
        job = service.create_job(
            session, name="worker-nightly", task="core.sweep_outbox", cron_rule="0 2 * * *", now=now
        )
        # Due three nights ago: beat and workers were down since.
        job.next_run_at = now - timedelta(days=3)
        job_id = job.id
    try:
        # Beat comes back first (and ticks twice): one run, queued in Redis.
        assert len(tick_and_send(now)) == 1
        assert tick_and_send(now + timedelta(seconds=15)) == []
        time.sleep(0.5)
        (queued,) = _runs(job_id)
        assert (queued.outcome, queued.trigger) == ("queued", "catch_up")

        worker = Worker(broker, output_dir / "schedule-worker.log")
        worker.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _runs(job_id)[0].outcome in ("queued", "running"):
                time.sleep(0.2)
        finally:
            worker.stop()
        (run,) = _runs(job_id)
        assert run.outcome == "succeeded", run.output
        assert run.output == "0"  # core.sweep_outbox: no event waiting to be re-sent
        assert run.duration_ms is not None and run.started_at is not None
    finally:
        with session_scope() as session:
            session.execute(delete(ScheduledJob).where(ScheduledJob.id == job_id))
            session.execute(
                ScheduledJob.__table__.update()
                .where(ScheduledJob.id.in_(paused))
                .values(enabled=True)
            )
