"""A real Celery worker on a real Redis handles each committed event exactly once, across
a worker restart, and never sees a rolled-back one."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import kombu.pools
import pytest
from sqlalchemy import func, select, text

from core import db as core_db
from core.celery_app import celery_app
from core.db import session_scope
from core.outbox import EventDelivery, OutboxEvent, emit
from core.settings import get_settings
from core.tasks import dispatch_event
from tests.core.worker_handlers import WorkerProbe
from tests.support.processes import Worker, redis_server

pytestmark = pytest.mark.worker
HANDLER_MODULE = "tests.core.worker_handlers"


@pytest.fixture()
def broker(database_url: str, output_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with redis_server() as url:
        env = {
            **os.environ,
            "KILOWATCH_BROKER_URL": url,
            "KILOWATCH_DATABASE_URL": database_url,
            "KILOWATCH_EVENT_HANDLER_MODULES": HANDLER_MODULE,
        }
        previous = dict(celery_app.conf)
        _switch_broker(url, eager=False)
        with core_db.get_engine(database_url).begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS test_worker_effect (event_id uuid, at timestamptz DEFAULT now())"
                )
            )
        try:
            yield url, env
        finally:
            _switch_broker(previous["broker_url"], eager=previous["task_always_eager"])
            with core_db.get_engine(database_url).begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS test_worker_effect"))
                conn.execute(text("DELETE FROM core_outbox_event WHERE name = 'test.worker_probe'"))


def _switch_broker(url: str, *, eager: bool) -> None:
    """Point this test process's Celery app at another broker (drops cached connections)."""
    celery_app.conf.update(broker_url=url, task_always_eager=eager)
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _effects(event_id: uuid.UUID) -> int:
    with session_scope() as session:
        return session.scalar(
            text("SELECT count(*) FROM test_worker_effect WHERE event_id = :e"), {"e": event_id}
        )


def _wait_until_handled(event_id: uuid.UUID, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            event = session.get(OutboxEvent, event_id)
            if event is not None and event.dispatched_at is not None:
                return
        time.sleep(0.2)
    raise AssertionError(f"event {event_id} not handled within {timeout}s")


def test_events_are_handled_exactly_once_across_worker_restart(
    broker: tuple[str, dict[str, str]], output_dir: Path
) -> None:
    _url, env = broker
    worker = Worker(env, output_dir / "worker.log")
    assert get_settings().broker_url is None  # the test process itself sends via the conf

    worker.start()
    try:
        with session_scope() as session:
            first = emit(session, WorkerProbe(n=1))
        _wait_until_handled(first)
        assert _effects(first) == 1

        # A rolled-back transaction sends nothing.
        with pytest.raises(RuntimeError), session_scope() as session:
            ghost = emit(session, WorkerProbe(n=0))
            session.flush()
            raise RuntimeError("rolled back")

        worker.stop()
        # Committed while no worker runs: the message waits in Redis.
        with session_scope() as session:
            second = emit(session, WorkerProbe(n=2))
        # And a duplicate of the first message, as a broker redelivery would produce.
        with session_scope() as session:
            session.get(OutboxEvent, first).dispatched_at = None
        dispatch_event.delay(str(first))
        time.sleep(0.5)
        assert _effects(second) == 0

        worker.start()
        _wait_until_handled(second)
        _wait_until_handled(first)
    finally:
        worker.stop()

    assert _effects(first) == 1
    assert _effects(second) == 1
    assert _effects(ghost) == 0
    with session_scope() as session:
        assert session.get(OutboxEvent, ghost) is None
        handled = session.scalar(
            select(func.count())
            .select_from(EventDelivery)
            .where(EventDelivery.event_id.in_([first, second]))
        )
    assert handled == 2
