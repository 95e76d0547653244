"""Domain-event handlers, registered at start-up. Each domain's news reaches the domains
above it only through here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from core.events import handles


@handles("gis.switch_operated", name="gis.retrace_after_switch")
def retrace_after_switch(_session: Session, payload: dict[str, Any], _event_id: uuid.UUID) -> None:
    """A switch changed state: re-trace the feeders on both sides in the background (the
    task checks they are still dirty, so a redelivered event does no harm)."""
    from gis.tasks import retrace_feeder

    for feeder_id in payload.get("feeder_ids", []):
        retrace_feeder.delay(int(feeder_id))
