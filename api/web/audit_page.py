"""The audit trail page: who changed what, when, for one table or one record (limited to
the caller's territory, ``core.audit_read``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.web.rendering import page_actor, render
from core.audit_read import audit_entries, audited_tables

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    entity: str = Query("", max_length=63, pattern=r"^[a-z0-9_]*$"),
    key: str = Query("", max_length=200),
) -> Response:
    actor = page_actor(request, session, "audit:read")
    entries, _ = audit_entries(session, actor, table=entity or None, key=key or None, limit=200)
    return render(
        request,
        "audit.html",
        actor,
        title="Audit trail",
        entries=entries,
        tables=audited_tables(session, actor),
        entity=entity,
        key=key,
    )
