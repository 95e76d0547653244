"""A run whose issuing process is killed mid-way resumes to the same result as a run that
was never interrupted: same bills, no number drawn twice or skipped, ledger balanced.

The issuing process is a real ``kilowatch billing-run issue`` subprocess on a scratch
database of its own (its work must be committed to be seen). The test holds a row lock
on the items of the run's second chunk, waits until the process is blocked on it (its
first chunk committed), kills it with SIGKILL, releases the lock and resumes in-process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from billing.ledger import repository as ledger
from billing.runs import runner, service
from billing.runs.schemas import RunCreate, Selection
from core.scratch_db import create_scratch_database
from tests.billing.world import APPROVER, PREPARER, customer, read

ROOT = Path(__file__).resolve().parents[2]
KWH = [110, 95, 240, 130, 101, 180]  # one population, billed twice over


@pytest.fixture(scope="module")
def scratch_url(database_url: str) -> str:
    from core.migrate import upgrade

    scratch = create_scratch_database("kw_test_resume", os.environ.get("KILOWATCH_TEST_SERVER_URL"))
    upgrade(scratch.url)
    yield scratch.url
    scratch.drop()


def population(session: Session) -> list[int]:
    people = []
    for kwh in KWH:
        who = customer(session)
        read(session, who, date(2026, 1, 31), kwh)
        people.append(who.usage_point_id)
    return people


def approved_run(session: Session, ids: list[int]) -> int:
    run = service.create_run(
        session,
        PREPARER,
        RunCreate(
            period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 1),
            issue_date=date(2026, 2, 3),
            selection=Selection(usage_point_ids=ids),
            chunk_size=2,
        ),
    )
    session.commit()
    runner.simulate(session, PREPARER, run.id)
    service.approve(session, APPROVER, run.id)
    session.commit()
    return run.id


def bills(session: Session, ids: list[int]) -> list[tuple]:
    """Per usage point in population order: its bills' totals and lines."""
    result = []
    for up in ids:
        rows = session.execute(
            text(
                "SELECT i.total, array_agg(l.component || ':' || l.amount ORDER BY l.position) "
                "FROM billing_invoice i JOIN billing_invoice_line l ON l.invoice_id = i.id "
                "WHERE i.usage_point_id = :up GROUP BY i.id ORDER BY i.id"
            ),
            {"up": up},
        ).all()
        result.append([tuple(r) for r in rows])
    return result


def wait_for_lock_wait(session: Session, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
        session.rollback()  # pg_stat_activity is a snapshot per transaction
        if waiting:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the issuing process ended early: {proc.communicate()}")
        time.sleep(0.2)
    activity = session.execute(
        text(
            "SELECT state, wait_event_type, wait_event, left(query, 120) FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
    ).all()
    proc.kill()
    raise TimeoutError(
        f"the issuing process never reached the locked chunk: {activity} {proc.communicate()}"
    )


def test_a_killed_issue_resumes_to_the_uninterrupted_result(scratch_url: str) -> None:
    engine = create_engine(scratch_url)
    with Session(engine) as session:
        interrupted_ids, straight_ids = population(session), population(session)
        session.commit()
        interrupted = approved_run(session, interrupted_ids)
        straight = approved_run(session, straight_ids)

    blocker = engine.connect()
    blocking = blocker.begin()
    blocker.execute(
        text("SELECT id FROM billing_run_item WHERE run_id = :r AND chunk_no = 1 FOR UPDATE"),
        {"r": interrupted},
    )
    env = {**os.environ, "KILOWATCH_DATABASE_URL": scratch_url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kilowatch",
            "billing-run",
            "issue",
            str(interrupted),
            "--by",
            APPROVER.username,
            "--workers",  # one chunk after the other: the first commits, the second waits
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with Session(engine) as watcher:
        wait_for_lock_wait(watcher, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        blocking.rollback()
        blocker.close()
        done = watcher.execute(
            text("SELECT count(issued_at) FROM billing_run_chunk WHERE run_id = :r"),
            {"r": interrupted},
        ).scalar_one()
        assert done == 1  # the first chunk was committed, the second rolled back whole

    with Session(engine) as session:
        runner.issue(session, APPROVER, interrupted)  # resume
        runner.issue(session, APPROVER, straight)
        assert service.get_run(session, APPROVER, interrupted).status == "issued"
        assert bills(session, interrupted_ids) == bills(session, straight_ids)
        assert all(len(b) == 1 for b in bills(session, interrupted_ids))
        seqs = session.scalars(
            text("SELECT seq FROM billing_invoice WHERE series = 'F' ORDER BY seq")
        ).all()
        assert seqs == list(range(1, 2 * len(KWH) + 1))  # no number lost or doubled
        report = ledger.check(session)
        assert report.ok and report.total_imbalance == 0
    engine.dispose()


@pytest.mark.worker
def test_chunks_go_to_celery_workers_when_a_broker_is_configured(
    scratch_url: str, output_dir: Path
) -> None:
    """With a broker, simulate and issue send one task per chunk to a real worker; the
    result is the in-process run's. Asking again re-sends only the chunks not done."""
    import kombu.pools

    from core.celery_app import celery_app
    from tests.support.processes import Worker, redis_server

    engine = create_engine(scratch_url)
    with Session(engine) as session:
        by_worker_ids, in_process_ids = population(session), population(session)
        session.commit()
        in_process = approved_run(session, in_process_ids)
        runner.issue(session, APPROVER, in_process)
        by_worker = service.create_run(
            session,
            PREPARER,
            RunCreate(
                period_start=date(2026, 1, 1),
                period_end=date(2026, 2, 1),
                issue_date=date(2026, 2, 3),
                selection=Selection(usage_point_ids=by_worker_ids),
                chunk_size=2,
            ),
        ).id
        session.commit()

    def switch(url: str, eager: bool) -> None:
        celery_app.conf.update(broker_url=url, task_always_eager=eager)
        kombu.pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    with redis_server() as broker:
        env = {
            **os.environ,
            "KILOWATCH_BROKER_URL": broker,
            "KILOWATCH_DATABASE_URL": scratch_url,
            "PYTHONPATH": str(ROOT),
        }
        worker = Worker(env, output_dir / "billing-worker.log")
        switch(broker, eager=False)
        worker.start()
        try:
            with Session(engine) as session:
                runner.simulate(session, PREPARER, by_worker)
                wait_for_status(session, by_worker, "simulated")
                service.approve(session, APPROVER, by_worker)
                session.commit()
                runner.issue(session, APPROVER, by_worker)
                wait_for_status(session, by_worker, "issued")
                runner.issue(session, APPROVER, by_worker)  # issued: nothing is sent again
                assert bills(session, by_worker_ids) == bills(session, in_process_ids)
                assert ledger.check(session).ok
        finally:
            worker.stop()
            switch(*previous)
    engine.dispose()


def wait_for_status(session: Session, run_id: int, status: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = session.execute(
            text("SELECT status FROM billing_run WHERE id = :r"), {"r": run_id}
        ).scalar_one()
        session.rollback()
        if now == status:
            return
        time.sleep(0.3)
    raise TimeoutError(f"run {run_id} did not reach {status} within {timeout}s")
