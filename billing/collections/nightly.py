"""The nightly collections job as one unit: the steps in one transaction, committed, then
the notices (a rolled-back night never sends a notice)."""

from __future__ import annotations

from datetime import date
from typing import Any

from billing.collections import notices, service
from core.context import SYSTEM, acting_as
from core.db import session_scope


def run(on: date | None = None, *, full: bool = False) -> dict[str, Any]:
    """Advance every account whose step has come on ``on`` (default: today), then send
    that day's notices (``full``: recompute every file, not only the newly overdue). Returns the night's report and the notices' outcomes."""
    day = on or service.today()
    with acting_as(SYSTEM, reason=f"collections night {day}"), session_scope() as session:
        report = service.run_night(session, SYSTEM, on=day, full=full)
    with acting_as(SYSTEM, reason=f"collections notices {day}"), session_scope() as session:
        sent = notices.send_pending(session, SYSTEM, on=day)
    return {**report.model_dump(mode="json"), "notices": sent}
