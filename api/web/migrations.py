"""The data-migration page: upload a legacy base, follow the runs, read a run's report and
its parked rows, download the templates."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.migration import service
from core.migration.models import MigrationRun
from core.migration.spec import entities
from core.migration.tasks import accept_upload
from core.pages import BIGINT_MAX

router = APIRouter(include_in_schema=False)

SCOPE = "migration:run"
register_nav_item(NavItem("Migrations", "/migrations", SCOPE, order=85))


@router.get("/migrations", response_class=HTMLResponse)
def migrations_page(
    request: Request, session: DbSession, run: int = Query(0, ge=0, le=BIGINT_MAX)
) -> Response:
    actor = page_actor(request, session, SCOPE)
    runs = service.recent_runs(session, 30)
    shown = session.get(MigrationRun, run) if run else (runs[0] if runs else None)
    return render(
        request,
        "migrations.html",
        actor,
        title="Data migration",
        runs=runs,
        shown=shown,
        parked=service.parked_rows(session, shown.id)[:500] if shown else [],
        entities=entities(),
        active=any(r.status in ("queued", "running") for r in runs),
    )


@router.post("/migrations", response_class=HTMLResponse)
def upload_from_page(
    request: Request,
    session: DbSession,
    file: UploadFile = File(...),
    dry_run: bool = Form(False),
    partial: bool = Form(False),
    attach_max_m: float = Form(50.0, gt=0, le=10_000),
) -> Response:
    actor = page_actor(request, session, SCOPE)
    accepted = accept_upload(
        session,
        actor=actor,
        filename=file.filename or "upload",
        stream=file.file,
        dry_run=dry_run,
        partial=partial,
        attach_max_m=attach_max_m,
    )
    return RedirectResponse(f"/migrations?run={accepted.id}", status_code=303)
