"""Scheduled jobs: the beat's tick (due jobs become runs, a missed run is caught up once),
running one run (the task looked up in Celery's registry at run time), and the admin's
changes (pause, resume, run now, new rule or arguments). Functions flush, never commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import EntityNotFoundError, FieldError, InputInvalidError
from core.periods import add_months, local_date, month_start
from core.scheduling import cron
from core.scheduling.models import ScheduledJob, ScheduledJobRun

# A run found this much later than its due time was missed (workers or beat were down).
CATCH_UP_AFTER = timedelta(minutes=5)
OUTPUT_CHARS = 4000


class ScheduledJobNotFoundError(EntityNotFoundError):
    code = "scheduled_job_not_found"


class ScheduledJobInvalidError(InputInvalidError):
    code = "scheduled_job_invalid"


def tick(session: Session, now: datetime) -> list[int]:
    """Turn every enabled job due at ``now`` into ONE queued run and move its next run
    past ``now`` (not past the missed due time: three missed nights make one run, not
    three). Rows are locked SKIP LOCKED, so two beats never queue the same run. Returns
    the new runs' ids, to send once the caller commits."""
    jobs = session.scalars(
        select(ScheduledJob)
        .where(ScheduledJob.enabled.is_(True), ScheduledJob.next_run_at <= now)
        .order_by(ScheduledJob.next_run_at, ScheduledJob.id)
        .with_for_update(skip_locked=True)
    ).all()
    runs = []
    for job in jobs:
        due = job.next_run_at
        assert due is not None
        trigger = "catch_up" if now - due > CATCH_UP_AFTER else "schedule"
        runs.append(ScheduledJobRun(job_id=job.id, trigger=trigger, due_at=due, queued_at=now))
        job.last_run_at = now
        job.next_run_at = cron.next_after(job.cron, now)
    session.add_all(runs)
    session.flush()
    return [run.id for run in runs]


def execute(
    session: Session,
    run_id: int,
    *,
    lookup: Callable[[str], Any | None],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ScheduledJobRun | None:
    """Run one queued run: the task named by its job, looked up now in ``lookup`` (the
    Celery registry), applied in this process; outcome, duration and output recorded.
    A run already started (a redelivered message) is left alone: it runs once."""
    run = session.get(ScheduledJobRun, run_id, with_for_update=True)
    if run is None or run.outcome != "queued":
        return None
    job = session.get(ScheduledJob, run.job_id)
    assert job is not None
    run.started_at = clock()
    run.outcome = "running"
    session.flush()
    task = lookup(job.task)
    started = time.perf_counter()
    if task is None:
        run.outcome, run.output = "failed", f"task {job.task!r} is not registered"
    else:
        args, kwargs = resolve(job.args, run.due_at), resolve(job.kwargs, run.due_at)
        result = task.apply(args=args, kwargs=kwargs)
        if result.successful():
            run.outcome, run.output = "succeeded", _text(result.result)
        else:
            run.outcome, run.output = "failed", _text(result.traceback or result.result)
    run.duration_ms = round((time.perf_counter() - started) * 1000)
    run.finished_at = clock()
    session.flush()
    return run


# Arguments that name a month relative to the run's due date (a nightly scoring job scores
# the month just closed): stored as the placeholder, resolved when the run runs.
PLACEHOLDERS: dict[str, Callable[[date], str]] = {
    "@current_month": lambda day: month_start(day).strftime("%Y-%m"),
    "@previous_month": lambda day: add_months(month_start(day), -1).strftime("%Y-%m"),
}


def resolve(value: Any, due_at: datetime) -> Any:
    """``value`` with every month placeholder replaced for the local date of ``due_at``."""
    if isinstance(value, str) and value in PLACEHOLDERS:
        return PLACEHOLDERS[value](local_date(due_at))
    if isinstance(value, list):
        return [resolve(v, due_at) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, due_at) for k, v in value.items()}
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    shown = value if isinstance(value, str) else repr(value)
    return shown[:OUTPUT_CHARS]


def get_job(session: Session, job_id: int) -> ScheduledJob:
    job = session.get(ScheduledJob, job_id)
    if job is None:
        raise ScheduledJobNotFoundError(f"no scheduled job {job_id}")
    return job


def list_jobs(session: Session) -> list[ScheduledJob]:
    return list(session.scalars(select(ScheduledJob).order_by(ScheduledJob.name)))


def recent_runs(
    session: Session, job_id: int | None = None, limit: int = 50
) -> list[ScheduledJobRun]:
    query = select(ScheduledJobRun).order_by(ScheduledJobRun.id.desc()).limit(limit)
    if job_id is not None:
        query = query.where(ScheduledJobRun.job_id == job_id)
    return list(session.scalars(query))


def run_now(session: Session, actor: Actor, job_id: int, now: datetime) -> ScheduledJobRun:
    """Queue a run by hand (paused jobs too); the calendar is left as it is."""
    job = get_job(session, job_id)
    run = ScheduledJobRun(
        job_id=job.id, trigger="manual", due_at=now, queued_at=now, requested_by=actor.username
    )
    session.add(run)
    session.flush()
    return run


def set_enabled(
    session: Session, actor: Actor, job_id: int, enabled: bool, now: datetime
) -> ScheduledJob:
    """Pause or resume. Resuming starts from the next firing after ``now``: runs missed
    while paused were meant not to happen."""
    job = get_job(session, job_id)
    if enabled and not job.enabled:
        job.next_run_at = cron.next_after(job.cron, now)
    job.enabled = enabled
    session.flush()
    return job


def update_job(
    session: Session,
    actor: Actor,
    job_id: int,
    now: datetime,
    *,
    cron_rule: str | None = None,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    description: str | None = None,
) -> ScheduledJob:
    """Change a job's rule, arguments or description; a new rule moves its next run."""
    job = get_job(session, job_id)
    if cron_rule is not None:
        job.cron = validate_rule(cron_rule)
        job.next_run_at = cron.next_after(job.cron, now)
    if args is not None:
        job.args = args
    if kwargs is not None:
        job.kwargs = kwargs
    if description is not None:
        job.description = description
    session.flush()
    return job


def create_job(
    session: Session,
    *,
    name: str,
    task: str,
    cron_rule: str,
    now: datetime,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    description: str = "",
    enabled: bool = True,
) -> ScheduledJob:
    """A new job. The task name is not checked here: a job may name a task another
    module registers later; the run says so if it still is not registered then."""
    job = ScheduledJob(
        name=name,
        task=task,
        cron=validate_rule(cron_rule),
        args=args or [],
        kwargs=kwargs or {},
        description=description,
        enabled=enabled,
        next_run_at=cron.next_after(cron_rule, now),
    )
    session.add(job)
    session.flush()
    return job


def validate_rule(rule: str) -> str:
    try:
        cron.parse(rule)
    except (ValueError, KeyError) as exc:
        raise ScheduledJobInvalidError(
            f"cron rule {rule!r} is invalid: {exc}",
            errors=[FieldError("cron", str(exc), "invalid")],
        ) from exc
    return " ".join(rule.split())
