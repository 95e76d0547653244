"""Celery side of scheduled jobs: the task that runs one recorded run, and the beat tick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.celery_app import celery_app
from core.context import Actor
from core.db import session_scope
from core.logging import get_logger
from core.scheduling import service
from core.scheduling.models import ScheduledJobRun
from core.tasks import send_after_commit

log = get_logger(__name__)


def registered(name: str) -> Any | None:
    """The task registered under ``name`` in this process, or None."""
    return celery_app.tasks.get(name)


@celery_app.task(name="core.run_scheduled_job")  # type: ignore[untyped-decorator]
def run_scheduled_job(run_id: int) -> str | None:
    """Run one queued scheduled-job run (idempotent: a started run is not run again)."""
    with session_scope() as session:
        run = service.execute(session, run_id, lookup=registered)
        return run.outcome if run is not None else None


def send_runs(run_ids: list[int]) -> None:
    """Send committed runs to the workers (a send that fails leaves the run queued)."""
    for run_id in run_ids:
        try:
            run_scheduled_job.delay(run_id)
        except Exception as exc:
            log.error("scheduling.send_failed", run_id=run_id, error=str(exc))


def tick_and_send(now: datetime | None = None) -> list[int]:
    """One beat tick: commit the due runs, then send them."""
    with session_scope() as session:
        ids = service.tick(session, now or datetime.now(UTC))
    send_runs(ids)
    return ids


def queue_run_now(session: Session, actor: Actor, job_id: int) -> ScheduledJobRun:
    """Record a manual run and send it once the caller's transaction commits."""
    run = service.run_now(session, actor, job_id, datetime.now(UTC))
    send_after_commit(session, run_scheduled_job, run.id)
    return run
