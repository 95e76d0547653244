"""The audit trail page: who changed what, when, for one table or one record."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select, text

from api.deps import DbSession
from api.web.rendering import page_actor, render
from core.audit import AuditLog, audited_tables_sql

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    entity: str = Query("", max_length=63, pattern=r"^[a-z0-9_]*$"),
    key: str = Query("", max_length=200),
) -> Response:
    actor = page_actor(request, session, "audit:read")
    # The audited tables come from the catalogue: cheap, unlike DISTINCT over the log.
    tables = sorted(session.scalars(text(audited_tables_sql())))
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(200)
    if entity:
        query = query.where(AuditLog.table_name == entity)
    if key:
        query = query.where(AuditLog.entity_key == key)
    return render(
        request,
        "audit.html",
        actor,
        title="Audit trail",
        entries=session.scalars(query).all(),
        tables=tables,
        entity=entity,
        key=key,
    )
