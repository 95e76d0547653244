"""Core Celery tasks and the Celery side of the outbox: the dispatcher the composition root
installs (one ``core.dispatch_event`` task per committed event), the dispatch task itself,
the sweeper that re-sends events whose message was lost (broker down at commit time), and
``send_after_commit`` for a task that must leave only with its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Task
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.celery_app import celery_app
from core.db import session_scope
from core.logging import get_logger
from core.outbox import OutboxEvent, after_commit, deliver, record_failure

log = get_logger(__name__)


class CeleryDispatcher:
    """Production dispatcher: one ``core.dispatch_event`` message per committed event; the
    worker reads the event from its own database connection."""

    runs_in_transaction = False

    def dispatch(self, event_ids: Sequence[uuid.UUID], bind: Engine | Connection) -> None:
        for event_id in event_ids:
            send_dispatch(event_id)


def send_dispatch(event_id: uuid.UUID) -> None:
    try:
        dispatch_event.delay(str(event_id))
    except Exception as exc:  # broker unreachable: the sweeper will send it later
        log.warning("outbox.send_failed", event_id=str(event_id), error=str(exc))


def send_after_commit(session: Session, task: Task, *args: Any) -> None:
    """Send ``task(*args)`` once ``session``'s outermost transaction commits, never if it
    rolls back: a handler's follow-up work leaves only after the handler's own commit."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception as exc:  # the change is committed; the task's own sweep retries
            log.error("tasks.send_failed", task=task.name, args=repr(args), error=str(exc))

    after_commit(session, send)


@celery_app.task(name="core.dispatch_event", bind=True, max_retries=12)
def dispatch_event(self: Task, event_id: str) -> int:
    """Run every handler of one event that has not run yet; return how many ran now."""
    key = uuid.UUID(event_id)
    try:
        return deliver(key)
    except Exception as exc:
        record_failure(key, exc)
        log.error("outbox.handler_failed", event_id=event_id, error=repr(exc))
        if celery_app.conf.task_always_eager:
            return 0  # in-process mode: the sweeper (kilowatch outbox sweep) retries
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc


@celery_app.task(name="core.sweep_outbox")
def sweep_outbox(older_than_seconds: int = 30, limit: int = 1000) -> int:
    """Re-send events committed but never dispatched (idempotent: handlers run once)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    with session_scope() as session:
        ids = session.scalars(
            select(OutboxEvent.id)
            .where(OutboxEvent.dispatched_at.is_(None), OutboxEvent.created_at < cutoff)
            .order_by(OutboxEvent.created_at)
            .limit(limit)
        ).all()
    for event_id in ids:
        send_dispatch(event_id)
    return len(ids)


@celery_app.task(name="core.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Forget the stored answers of ``Idempotency-Key`` requests older than
    ``settings.idempotency_key_retention_hours`` (a client retries within hours); returns
    how many were removed. Idempotent: a second run finds nothing older."""
    from core import idempotency
    from core.settings import get_settings

    hours = get_settings().idempotency_key_retention_hours
    with session_scope() as session:
        removed = idempotency.purge(session, before=datetime.now(UTC) - timedelta(hours=hours))
    log.info("idempotency.purged", removed=removed, retention_hours=hours)
    return removed
