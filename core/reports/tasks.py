"""Celery side of report exports."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.celery_app import celery_app
from core.context import Actor
from core.db import session_scope
from core.reports import background
from core.reports.catalogue import ReportFilters
from core.reports.models import ReportExport
from core.tasks import send_after_commit


@celery_app.task(name="core.export_report")  # type: ignore[untyped-decorator]
def export_report(export_id: int) -> str | None:
    """Build one requested export (idempotent: a finished one is left as it is)."""
    with session_scope() as session:
        job = session.get(ReportExport, export_id)
        if job is None:
            return None
        done = background.execute(session, export_id, background.requester(session, job))
        return done.status if done is not None else None


def queue_export(
    session: Session, actor: Actor, name: str, filters: ReportFilters, fmt: str
) -> ReportExport:
    """Record an export request and send it once the caller commits."""
    job = background.request(session, actor, name, filters, fmt)
    send_after_commit(session, export_report, job.id)
    return job
