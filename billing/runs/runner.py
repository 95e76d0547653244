"""Driving a run's chunks: in this process (committing after each chunk) or, when a
broker is configured, as one Celery task per chunk (``billing.runs.tasks``).

Like a task, the runner owns its transactions: each chunk is simulated or issued and
committed on its own, so a process or worker killed mid-run loses at most the chunk it
was doing (rolled back whole) and ``simulate`` / ``issue`` called again carry on with
the chunks not yet done. Calling ``issue`` on an issued run does nothing.

``workers`` > 1 (the CLI's ``--workers``; a session bound to an engine, not to a
connection) runs that many chunks at a time in this process, each thread on a session of
its own: what one thread's chunk waits for in PostgreSQL (COPY, index and key checks) is
when another's rates and builds rows, and the database works on two cores. Numbering
still goes one chunk at a time (``billing.invoices.writer.Prepared.issue``).
"""

from __future__ import annotations

import contextvars
import gc
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from billing.runs import service
from billing.runs.errors import BillingRunTransitionInvalidError
from billing.runs.models import BillingRun
from billing.runs.rater import Rater
from billing.runs.schemas import RunProgress
from core.bulk import gc_paused
from core.celery_app import celery_app
from core.context import Actor

Progress = Callable[[str, int, int], None]
# (session, its run, its rater, chunk number): one chunk's work, committed by the caller.
ChunkWork = Callable[[Session, BillingRun, Rater, int], object]


def _each_chunk(
    session: Session,
    run_id: int,
    chunks: list[int],
    work: ChunkWork,
    *,
    phase: str,
    progress: Progress | None,
    workers: int,
) -> None:
    """Do ``work`` on every chunk, committing after each, on ``workers`` threads (the
    caller's session is the first; the others open their own on its engine). The first
    error stops every thread after its current chunk and is raised."""
    bind = session.get_bind()
    threads = min(max(workers, 1), len(chunks)) if isinstance(bind, Engine) else 1
    pending = iter(chunks)
    lock = threading.Lock()
    done = [0]
    failures: list[BaseException] = []

    def next_chunk() -> int | None:
        with lock:
            return None if failures else next(pending, None)

    def loop(own: Session) -> None:
        run = own.get(BillingRun, run_id)
        assert run is not None
        rater = Rater(own)
        try:
            while (chunk := next_chunk()) is not None:
                work(own, run, rater, chunk)
                own.commit()
                gc.collect(1)  # the chunk's cycles (the collector is paused meanwhile)
                with lock:
                    done[0] += 1
                    if progress is not None:
                        progress(phase, done[0], len(chunks))
        except BaseException as error:
            own.rollback()
            with lock:
                failures.append(error)

    def in_thread() -> None:
        with Session(bind=bind, expire_on_commit=False) as own:
            loop(own)

    # The actor and request travel with each thread (the audit stamps each transaction).
    started = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(in_thread,),
            name=f"billing-run-{run_id}-{phase}-{n}",
        )
        for n in range(1, threads)
    ]
    with gc_paused():
        for thread in started:
            thread.start()
        loop(session)
        for thread in started:
            thread.join()
    if failures:
        raise failures[0]


def _distributed() -> bool:
    return not celery_app.conf.task_always_eager


def simulate(
    session: Session,
    actor: Actor,
    run_id: int,
    progress: Progress | None = None,
    *,
    workers: int = 1,
) -> RunProgress:
    """Simulate the run's pending chunks (all of them again when it was simulated
    already), then mark it simulated."""
    run = service.get_run(session, actor, run_id, lock=True)
    if run.status == "simulated":
        service.reset_simulation(session, run)
    elif run.status != "draft":
        raise BillingRunTransitionInvalidError(
            f"a billing run in status {run.status!r} cannot be simulated",
            extra={"status_now": run.status},
        )
    session.commit()
    chunks = service.pending_chunks(session, run_id, "simulated")
    if _distributed():
        from billing.runs.tasks import simulate_run_chunk

        for chunk in chunks:
            simulate_run_chunk.delay(run_id, chunk, actor.username, actor.user_id)
        return service.progress(session, actor, run_id)
    _each_chunk(
        session,
        run_id,
        chunks,
        lambda own, run_, rater, chunk: service.simulate_chunk(own, run_, chunk, rater),
        phase="simulate",
        progress=progress,
        workers=workers,
    )
    run = service.get_run(session, actor, run_id, lock=True)
    service.finish_simulation(session, actor, run)
    session.commit()
    return service.progress(session, actor, run_id)


def issue(
    session: Session,
    actor: Actor,
    run_id: int,
    progress: Progress | None = None,
    *,
    workers: int = 1,
) -> RunProgress:
    """Issue an approved run's chunks not issued yet (resuming an interrupted issue),
    then mark it issued. An issued run is left as it is: nothing is billed twice."""
    run = service.get_run(session, actor, run_id, lock=True)
    if run.status == "issued":
        return service.progress(session, actor, run_id)
    if run.status not in ("approved", "issuing"):
        raise BillingRunTransitionInvalidError(
            f"a billing run in status {run.status!r} cannot be issued (approve it first)",
            extra={"status_now": run.status},
        )
    service.start_issue(session, actor, run)
    session.commit()
    chunks = service.pending_chunks(session, run_id, "issued")
    if _distributed():
        from billing.runs.tasks import issue_run_chunk

        for chunk in chunks:
            issue_run_chunk.delay(run_id, chunk, actor.username, actor.user_id)
        return service.progress(session, actor, run_id)
    _each_chunk(
        session,
        run_id,
        chunks,
        lambda own, run_, rater, chunk: service.issue_chunk(own, actor, run_, chunk, rater),
        phase="issue",
        progress=progress,
        workers=workers,
    )
    service.finish_if_done(session, actor, run_id)
    session.commit()
    return service.progress(session, actor, run_id)
