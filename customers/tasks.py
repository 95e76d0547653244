"""Celery tasks of the customer domain: thin, idempotent, one service call each."""

from __future__ import annotations

from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope
from customers import service


@celery_app.task(name="customers.flag_breached_cases")
def flag_breached_cases() -> int:
    """Mark open cases past their due working day (re-running marks nothing twice)."""
    with acting_as(SYSTEM, reason="SLA clock"), session_scope() as session:
        return service.flag_breached_cases(session)
