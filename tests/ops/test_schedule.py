"""Scheduled jobs: the beat's tick driven by a clock. A job due while nothing was running
runs once when the scheduler returns, whatever the number of firings missed; a run records
its outcome, duration and output; an unregistered task fails its run, visibly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.scheduling import service
from core.scheduling.cron import next_after
from core.scheduling.models import ScheduledJob, ScheduledJobRun

# Africa/Porto-Novo is UTC+1: "0 2 * * *" fires at 01:00 UTC.
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

probe_app = Celery("probe", set_as_current=False)
probe_app.conf.task_always_eager = True
CALLS: list[tuple[Any, ...]] = []


@probe_app.task(name="test.probe")
def probe(month: str, *, factor: int = 1) -> dict[str, Any]:
    CALLS.append((month, factor))
    return {"month": month, "factor": factor}


@probe_app.task(name="test.broken")
def broken() -> None:
    raise RuntimeError("the meter data are not there")


def _lookup(name: str) -> Any:
    return probe_app.tasks.get(name)


def _runs(db: Session, job: ScheduledJob) -> list[ScheduledJobRun]:
    return list(
        db.scalars(
            select(ScheduledJobRun)
            .where(ScheduledJobRun.job_id == job.id)
            .order_by(ScheduledJobRun.id)
        )
    )


def test_seeded_calendar_holds_the_utility_jobs(db: Session) -> None:
    names = set(db.scalars(select(ScheduledJob.name)))
    assert {
        "reading_cycle_preparation",
        "billing_runs_by_cycle",
        "dunning_advance",
        "fraud_scoring",
        "zone_balances",
        "monthly_reports",
        "final_bill_sweep",
        "invoice_delivery_sweep",
    } <= names


def test_next_firing_is_local_time() -> None:
    assert next_after("0 2 * * *", T0) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert next_after("0 3 25 * *", T0) == datetime(2026, 12, 25, 2, 0, tzinfo=UTC)
    # exactly on a firing: the next one
    assert next_after("*/15 * * * *", datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == datetime(
        2026, 12, 1, 1, 15, tzinfo=UTC
    )


def test_missed_runs_are_caught_up_once(db: Session) -> None:
    CALLS.clear()
    db.execute(ScheduledJob.__table__.update().values(enabled=False))
    job = service.create_job(
        db,
        name="nightly",
        task="test.probe",
        cron_rule="0 2 * * *",
        now=T0,
        args=["@previous_month"],
        kwargs={"factor": 3},
    )
    assert job.next_run_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    # Before it is due: nothing.
    assert service.tick(db, datetime(2026, 12, 1, 0, 59, tzinfo=UTC)) == []
    # Workers and beat down from 30 Nov to 4 Dec 10:00 UTC: four nightly firings missed
    # (1, 2, 3 and 4 Dec at 01:00 UTC). They come back: ONE run, a catch-up.
    back = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    ids = service.tick(db, back)
    assert len(ids) == 1
    # A second beat (or the same one ticking again) at the same moment queues nothing.
    assert service.tick(db, back) == []
    assert service.tick(db, datetime(2026, 12, 4, 23, 0, tzinfo=UTC)) == []
    (run,) = _runs(db, job)
    assert (run.trigger, run.due_at) == ("catch_up", datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    # The calendar resumes at the next firing after the return, not at the missed ones.
    assert job.next_run_at == datetime(2026, 12, 5, 1, 0, tzinfo=UTC)

    clock = iter([back, datetime(2026, 12, 4, 10, 0, 2, tzinfo=UTC)])
    done = service.execute(db, ids[0], lookup=_lookup, clock=lambda: next(clock))
    assert done is not None
    # due 1 Dec (local): the previous month is November
    assert CALLS == [("2026-11", 3)]
    assert done.outcome == "succeeded"
    assert done.output == "{'month': '2026-11', 'factor': 3}"
    assert done.duration_ms is not None and done.duration_ms >= 0
    assert (done.finished_at - done.started_at).total_seconds() == 2
    # A redelivered message does not run it again.
    assert service.execute(db, ids[0], lookup=_lookup) is None
    assert CALLS == [("2026-11", 3)]

    # On time the next night: a plain scheduled run.
    ids = service.tick(db, datetime(2026, 12, 5, 1, 0, 20, tzinfo=UTC))
    assert [r.trigger for r in _runs(db, job)] == ["catch_up", "schedule"]


def test_failures_pause_and_run_now(db: Session) -> None:
    db.execute(ScheduledJob.__table__.update().values(enabled=False))
    ghost = service.create_job(
        db, name="ghost", task="collections.nothing_yet", cron_rule="* * * * *", now=T0
    )
    bad = service.create_job(db, name="bad", task="test.broken", cron_rule="* * * * *", now=T0)
    ids = service.tick(db, datetime(2026, 11, 30, 12, 1, tzinfo=UTC))
    assert len(ids) == 2
    for run_id in ids:
        service.execute(db, run_id, lookup=_lookup)
    (ghost_run,) = _runs(db, ghost)
    assert (ghost_run.outcome, ghost_run.output) == (
        "failed",
        "task 'collections.nothing_yet' is not registered",
    )
    (bad_run,) = _runs(db, bad)
    assert bad_run.outcome == "failed" and "the meter data are not there" in (bad_run.output or "")

    # Paused: the calendar skips it; run now still runs it; resuming starts afresh.
    service.set_enabled(db, SYSTEM, bad.id, False, T0)
    assert service.tick(db, datetime(2026, 11, 30, 13, 0, tzinfo=UTC)) == [
        r.id for r in _runs(db, ghost)[1:]
    ]
    manual = service.run_now(db, SYSTEM, bad.id, datetime(2026, 11, 30, 13, 5, tzinfo=UTC))
    assert manual.trigger == "manual"
    service.set_enabled(db, SYSTEM, bad.id, True, datetime(2026, 11, 30, 14, 0, 30, tzinfo=UTC))
    assert bad.next_run_at == datetime(2026, 11, 30, 14, 1, tzinfo=UTC)
    assert db.scalar(select(func.count()).where(ScheduledJobRun.job_id == bad.id)) == 2
