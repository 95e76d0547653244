"""Outbox semantics in-process (eager Celery): after commit only, once per handler."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import events
from core.db import session_scope
from core.outbox import EventDelivery, OutboxEvent, emit
from core.tasks import dispatch_event

CALLS: list[tuple[uuid.UUID, dict[str, Any]]] = []


@events.handles("test.outbox_probe", name="test-probe")
def _probe(_session: Session, payload: dict[str, Any], event_id: uuid.UUID) -> None:
    CALLS.append((event_id, payload))


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


def _cleanup(event_ids: list[uuid.UUID]) -> None:
    with session_scope() as session:
        for event_id in event_ids:
            event = session.get(OutboxEvent, event_id)
            if event is not None:
                session.delete(event)


def test_rolled_back_transaction_sends_no_event(database_url: str) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        event_id = emit(session, "test.outbox_probe", {"n": 1})
        session.flush()
        raise RuntimeError("business rule failed")
    with session_scope() as session:
        assert session.get(OutboxEvent, event_id) is None
    assert CALLS == []


def test_committed_event_is_handled_once_after_commit(database_url: str) -> None:
    with session_scope() as session:
        event_id = emit(session, "test.outbox_probe", {"n": 2})
        session.flush()
        assert CALLS == []  # nothing runs before commit
    try:
        assert [(event_id, {"n": 2})] == CALLS
        # A redelivered message (duplicate from the broker or the sweeper) does nothing.
        with session_scope() as session:
            session.get(OutboxEvent, event_id).dispatched_at = None
        assert dispatch_event.run(str(event_id)) == 0
        assert len(CALLS) == 1
        with session_scope() as session:
            deliveries = session.scalar(
                select(func.count())
                .select_from(EventDelivery)
                .where(EventDelivery.event_id == event_id)
            )
            assert deliveries == 1
            assert session.get(OutboxEvent, event_id).dispatched_at is not None
    finally:
        _cleanup([event_id])
