"""Driving a run's chunks: in this process (committing after each chunk) or, when a
broker is configured, as one Celery task per chunk (``billing.runs.tasks``).

Like a task, the runner owns its transactions: each chunk is simulated or issued and
committed on its own, so a process or worker killed mid-run loses at most the chunk it
was doing (rolled back whole) and ``simulate`` / ``issue`` called again carry on with
the chunks not yet done. Calling ``issue`` on an issued run does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from billing.runs import service
from billing.runs.errors import BillingRunTransitionInvalidError
from billing.runs.rater import Rater
from billing.runs.schemas import RunProgress
from core.bulk import gc_paused
from core.celery_app import celery_app
from core.context import Actor

Progress = Callable[[str, int, int], None]


def _distributed() -> bool:
    return not celery_app.conf.task_always_eager


def simulate(
    session: Session, actor: Actor, run_id: int, progress: Progress | None = None
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
    rater = Rater(session)
    for done, chunk in enumerate(chunks, start=1):
        with gc_paused():
            service.simulate_chunk(session, run, chunk, rater)
        session.commit()
        if progress is not None:
            progress("simulate", done, len(chunks))
    run = service.get_run(session, actor, run_id, lock=True)
    service.finish_simulation(session, actor, run)
    session.commit()
    return service.progress(session, actor, run_id)


def issue(
    session: Session, actor: Actor, run_id: int, progress: Progress | None = None
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
    rater = Rater(session)
    for done, chunk in enumerate(chunks, start=1):
        with gc_paused():
            service.issue_chunk(session, actor, run, chunk, rater)
        session.commit()
        if progress is not None:
            progress("issue", done, len(chunks))
    service.finish_if_done(session, actor, run_id)
    session.commit()
    return service.progress(session, actor, run_id)
