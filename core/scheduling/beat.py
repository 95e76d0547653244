"""The Celery beat scheduler reading ``core_scheduled_job`` (``celery -A kilowatch.worker
beat -S core.scheduling.beat:DatabaseScheduler``). Each tick asks the database which jobs
are due; the schedule in the app's config (the outbox sweeper) still runs as before."""

from __future__ import annotations

from typing import Any

from celery.beat import Scheduler

from core.logging import get_logger
from core.scheduling.tasks import tick_and_send

log = get_logger(__name__)

POLL_SECONDS = 15.0


class DatabaseScheduler(Scheduler):  # type: ignore[misc]
    """Celery's scheduler for the static entries, plus the database's jobs each tick."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        wait = float(super().tick(*args, **kwargs))
        try:
            tick_and_send()
        except Exception as exc:  # database down: try again next tick, beat stays up
            log.error("scheduling.tick_failed", error=repr(exc))
        return min(wait, POLL_SECONDS)
