"""Celery tasks of collections: thin."""

from __future__ import annotations

from typing import Any

from billing.collections import nightly
from core.celery_app import celery_app


@celery_app.task(name="billing.advance_collections")
def advance_collections(on: str | None = None) -> dict[str, Any]:
    """The nightly advance (beat: every night); ``on`` an ISO date to replay a day."""
    from datetime import date

    return nightly.run(date.fromisoformat(on) if on else None)
