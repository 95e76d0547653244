"""Celery tasks of billing runs: one chunk each, thin and idempotent (a chunk done is
skipped; a chunk another worker holds is skipped; the last chunk closes the phase)."""

from __future__ import annotations

from billing.runs import service
from core.bulk import gc_paused
from core.celery_app import celery_app
from core.context import Actor, acting_as
from core.db import session_scope


def _actor(username: str, user_id: int | None) -> Actor:
    """Who asked for the run's step (checked when the step was asked)."""
    return Actor(user_id=user_id, username=username, scopes=frozenset({"billing:issue"}))


@celery_app.task(name="billing.simulate_run_chunk", acks_late=True)
def simulate_run_chunk(run_id: int, chunk_no: int, username: str, user_id: int | None) -> int:
    actor = _actor(username, user_id)
    with acting_as(actor, reason=f"billing run {run_id}"), session_scope() as session:
        run = service.get_run(session, actor, run_id)
        if run.status not in ("draft", "simulated"):
            return 0
        with gc_paused():
            done = service.simulate_chunk(session, run, chunk_no)
        session.commit()
        run = service.get_run(session, actor, run_id, lock=True)
        if run.status == "draft":
            service.finish_simulation(session, actor, run)
        return done


@celery_app.task(name="billing.issue_run_chunk", acks_late=True)
def issue_run_chunk(run_id: int, chunk_no: int, username: str, user_id: int | None) -> int:
    actor = _actor(username, user_id)
    with acting_as(actor, reason=f"billing run {run_id}"), session_scope() as session:
        run = service.get_run(session, actor, run_id)
        if run.status != "issuing":
            return 0
        with gc_paused():
            issued = service.issue_chunk(session, actor, run, chunk_no)
        session.commit()
        service.finish_if_done(session, actor, run_id)
        return issued
