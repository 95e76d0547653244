"""Core Celery tasks: dispatch of outbox events to their handlers, and the sweeper that
re-sends events whose dispatch message was lost (broker down at commit time)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from celery import Task
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.events import handlers_for
from core.logging import get_logger
from core.outbox import EventDelivery, OutboxEvent

log = get_logger(__name__)


def send_dispatch(event_id: uuid.UUID) -> None:
    try:
        dispatch_event.delay(str(event_id))
    except Exception as exc:  # broker unreachable: the sweeper will send it later
        log.warning("outbox.send_failed", event_id=str(event_id), error=str(exc))


@celery_app.task(name="core.dispatch_event", bind=True, max_retries=12)
def dispatch_event(self: Task, event_id: str) -> int:
    """Run every handler of one event that has not run yet; return how many ran now."""
    key = uuid.UUID(event_id)
    with acting_as(SYSTEM, request_id=f"event:{event_id}"):
        with session_scope() as session:
            event = session.get(OutboxEvent, key)
            if event is None or event.dispatched_at is not None:
                return 0
            name, payload = event.name, dict(event.payload)
        ran = 0
        try:
            for handler_name, handler in handlers_for(name).items():
                with session_scope() as session:
                    claimed = session.execute(
                        insert(EventDelivery)
                        .values(event_id=key, handler=handler_name)
                        .on_conflict_do_nothing()
                        .returning(EventDelivery.handler)
                    ).first()
                    if claimed is None:
                        continue  # already handled (redelivery or concurrent worker)
                    handler(session, payload, key)
                    ran += 1
        except Exception as exc:
            with session_scope() as session:
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == key)
                    .values(attempts=OutboxEvent.attempts + 1, last_error=repr(exc)[:2000])
                )
            log.error("outbox.handler_failed", event_id=event_id, error=repr(exc))
            if celery_app.conf.task_always_eager:
                return ran  # in-process mode: the sweeper (kilowatch outbox sweep) retries
            raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 1))) from exc
        with session_scope() as session:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id == key)
                .values(dispatched_at=datetime.now(UTC), attempts=OutboxEvent.attempts + 1)
            )
    return ran


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
