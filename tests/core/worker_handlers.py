"""An event and its handler loaded by the test worker (KILOWATCH_EVENT_HANDLER_MODULES)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.events import DomainEvent, handles


class WorkerProbe(DomainEvent):
    """A probe event the worker test emits."""

    name: ClassVar[str] = "test.worker_probe"

    n: int


@handles(WorkerProbe, name="test-worker-probe")
def record_effect(session: Session, _event: WorkerProbe, event_id: uuid.UUID) -> None:
    session.execute(text("INSERT INTO test_worker_effect (event_id) VALUES (:e)"), {"e": event_id})
