"""Exports in the background: requested (a row), run by a worker as the requester (the
report's own territory rules apply), progress recorded, the file kept for download."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import EntityConflictError, EntityNotFoundError
from core.reports import catalogue, export
from core.reports.catalogue import ReportFilters
from core.reports.models import ReportExport
from core.territory import visible


class ReportExportNotFoundError(EntityNotFoundError):
    code = "report_export_not_found"


class ReportExportNotReadyError(EntityConflictError):
    code = "report_export_not_ready"


def request(
    session: Session, actor: Actor, name: str, filters: ReportFilters, fmt: str
) -> ReportExport:
    catalogue.get(name)  # 404 before anything is written
    job = ReportExport(
        report=name,
        filters=filters.as_dict(),
        format=fmt,
        requested_by=actor.username,
        requested_by_id=actor.user_id,
        territory_agency_id=actor.territory_agency_id,
    )
    session.add(job)
    session.flush()
    return job


def get(session: Session, actor: Actor, export_id: int) -> ReportExport:
    """An export made in the caller's territory (head office sees every one); 404 else."""
    job = session.scalar(
        select(ReportExport).where(ReportExport.id == export_id, visible(actor, ReportExport))
    )
    if job is None:
        raise ReportExportNotFoundError(f"no export {export_id}")
    return job


def execute(session: Session, export_id: int, actor: Actor) -> ReportExport | None:
    """Build the export as ``actor`` (the requester); idempotent once done."""
    job = session.get(ReportExport, export_id, with_for_update=True)
    if job is None or job.status == "done":
        return job
    job.status, job.progress = "running", 10
    session.flush()
    try:
        table = catalogue.run(session, actor, job.report, ReportFilters.from_dict(job.filters))
        job.progress = 60
        job.content = export.render(table, job.format, catalogue.get(job.report).title)
        job.rows, job.status, job.progress = len(table.rows), "done", 100
    except Exception as exc:  # recorded for the page; the worker's log has the traceback
        job.status, job.error = "failed", repr(exc)[:2000]
    job.finished_at = datetime.now(UTC)
    session.flush()
    return job


def requester(session: Session, job: ReportExport) -> Actor:
    """The requester as the worker acts for them (scopes and territory of their user)."""
    from core.auth.models import User
    from core.auth.service import actor_for

    user = session.get(User, job.requested_by_id) if job.requested_by_id else None
    return actor_for(user) if user is not None else Actor(user_id=None, username=job.requested_by)
