"""Background jobs of the network domain (thin: open a session, call a service)."""

from __future__ import annotations

from sqlalchemy import text

from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope
from gis import service


@celery_app.task(name="gis.retrace_feeder")
def retrace_feeder(feeder_id: int) -> int:
    """Re-trace one feeder if it is still marked dirty (idempotent: a clean feeder is left
    alone). Returns the number of rows whose electrical address changed."""
    with (
        acting_as(SYSTEM, request_id=f"gis.retrace_feeder:{feeder_id}"),
        session_scope() as session,
    ):
        dirty = session.execute(
            text("SELECT topology_dirty FROM gis_feeder WHERE id = :id FOR UPDATE"),
            {"id": feeder_id},
        ).scalar()
        if not dirty:
            return 0
        report = service.retrace_feeders(session, feeder_ids=[feeder_id])
        return sum(report.updated_rows.values())
