"""An event handler loaded by the test worker (KILOWATCH_EVENT_HANDLER_MODULES)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.events import handles


@handles("test.worker_probe", name="test-worker-probe")
def record_effect(session: Session, _payload: dict[str, Any], event_id: uuid.UUID) -> None:
    session.execute(text("INSERT INTO test_worker_effect (event_id) VALUES (:e)"), {"e": event_id})
