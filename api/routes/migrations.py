"""Data migration: upload a legacy base (processed in the background), follow the run,
list the rows a partial run parked, download the templates."""

from __future__ import annotations

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from api.deps import CurrentActor, DbSession
from api.downloads import attachment
from api.params import CONFLICT, NOT_FOUND, Id, Limit
from api.schemas import PROBLEM_RESPONSES
from core.migration import service
from core.migration.export import templates_zip
from core.migration.schemas import MigrationAccepted, MigrationRunRead, ParkedRowRead
from core.migration.tasks import accept_upload, resume_run

router = APIRouter(prefix="/api/v1", tags=["migrations"], responses=PROBLEM_RESPONSES)

SCOPE = "migration:run"


@router.post("/migrations", response_model=MigrationAccepted, status_code=202)
def upload_base(
    session: DbSession,
    actor: CurrentActor(SCOPE),  # type: ignore[valid-type]
    file: UploadFile = File(..., description="A .zip of <entity>.csv files or an .xlsx workbook"),
    dry_run: bool = Query(False, description="Check everything, write nothing"),
    partial: bool = Query(False, description="Load the valid rows, park the bad ones"),
    attach_max_m: float = Query(50.0, gt=0, le=10_000, description="Attach distance (m)"),
) -> MigrationAccepted:
    """Accept a base to import: the run is recorded and processed in the background;
    follow it at ``GET /api/v1/migrations/{id}``."""
    run = accept_upload(
        session,
        actor=actor,
        filename=file.filename or "upload",
        stream=file.file,
        dry_run=dry_run,
        partial=partial,
        attach_max_m=attach_max_m,
    )
    return MigrationAccepted(run_id=run.id, status=run.status)


@router.get("/migrations", response_model=list[MigrationRunRead])
def list_runs(
    session: DbSession,
    actor: CurrentActor(SCOPE),  # type: ignore[valid-type]
    limit: Limit = 50,
) -> list[MigrationRunRead]:
    """The latest runs, newest first."""
    return [MigrationRunRead.model_validate(r) for r in service.recent_runs(session, limit)]


@router.get(
    "/migrations/templates",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "The templates"}},
)
def templates(actor: CurrentActor(SCOPE)) -> Response:  # type: ignore[valid-type]
    """A zip of every file of the format with its header and two example rows, and the
    format's reference (FORMAT.md)."""
    return attachment(templates_zip(), "kilowatch-templates.zip", "application/zip")


@router.get("/migrations/{run_id}", response_model=MigrationRunRead, responses=NOT_FOUND)
def get_run(
    run_id: Id,
    session: DbSession,
    actor: CurrentActor(SCOPE),  # type: ignore[valid-type]
) -> MigrationRunRead:
    """A run: status, progress per file, and its report (counts per entity, problems)."""
    return MigrationRunRead.model_validate(service.get_run(session, run_id))


@router.get("/migrations/{run_id}/parked", response_model=list[ParkedRowRead], responses=NOT_FOUND)
def parked(
    run_id: Id,
    session: DbSession,
    actor: CurrentActor(SCOPE),  # type: ignore[valid-type]
) -> list[ParkedRowRead]:
    """The rows a partial run set aside, with their text and problems."""
    service.get_run(session, run_id)
    return [ParkedRowRead.model_validate(p) for p in service.parked_rows(session, run_id)]


@router.post(
    "/migrations/{run_id}/resume",
    response_model=MigrationAccepted,
    status_code=202,
    responses={**NOT_FOUND, **CONFLICT},
)
def resume(
    run_id: Id,
    session: DbSession,
    actor: CurrentActor(SCOPE),  # type: ignore[valid-type]
) -> MigrationAccepted:
    """Queue a failed run again: the worker continues from its first unwritten entity
    (409 for a run that did not fail, or whose upload is gone)."""
    run = resume_run(session, run_id=run_id)
    return MigrationAccepted(run_id=run.id, status=run.status)
