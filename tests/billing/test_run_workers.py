"""Chunks on two worker threads (``runner.simulate`` / ``runner.issue`` with
``workers=2``, each thread on its own session) bill exactly what one thread bills: the
same lines and totals per customer, every number of the series used once with no gap, the
ledger balanced. Run on a scratch database of its own (the threads' sessions see only
committed work)."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from billing.ledger import repository as ledger
from billing.runs import runner, service
from billing.runs.schemas import RunCreate, Selection
from core.scratch_db import create_scratch_database
from tests.billing.test_run_resume import KWH, bills, population
from tests.billing.world import APPROVER, PREPARER


@pytest.fixture(scope="module")
def workers_url(database_url: str) -> str:
    from core.migrate import upgrade

    scratch = create_scratch_database(
        "kw_test_workers", os.environ.get("KILOWATCH_TEST_SERVER_URL")
    )
    upgrade(scratch.url)
    yield scratch.url
    scratch.drop()


def issued_run(session: Session, ids: list[int], workers: int) -> int:
    run = service.create_run(
        session,
        PREPARER,
        RunCreate(
            period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 1),
            issue_date=date(2026, 2, 3),
            selection=Selection(usage_point_ids=ids),
            chunk_size=2,  # 6 customers: 3 chunks shared by the threads
        ),
    )
    session.commit()
    runner.simulate(session, PREPARER, run.id, workers=workers)
    service.approve(session, APPROVER, run.id)
    session.commit()
    runner.issue(session, APPROVER, run.id, workers=workers)
    return run.id


def test_two_workers_bill_what_one_bills(workers_url: str) -> None:
    engine = create_engine(workers_url)
    with Session(engine) as session:
        parallel_ids, serial_ids = population(session), population(session)
        session.commit()
        parallel = issued_run(session, parallel_ids, workers=2)
        serial = issued_run(session, serial_ids, workers=1)
        for run_id in (parallel, serial):
            progress = service.progress(session, APPROVER, run_id)
            assert progress.status == "issued"
            assert progress.by_status == {"issued": len(KWH)}
            assert progress.chunks_issued == 3
        assert bills(session, parallel_ids) == bills(session, serial_ids)
        assert all(len(b) == 1 for b in bills(session, parallel_ids))
        seqs = session.scalars(
            text("SELECT seq FROM billing_invoice WHERE series = 'F' ORDER BY seq")
        ).all()
        assert seqs == list(range(1, 2 * len(KWH) + 1))  # 12 bills, numbers 1..12 once each
        report = ledger.check(session)
        assert report.ok and report.total_imbalance == 0
    engine.dispose()
