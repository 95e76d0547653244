"""Staff pages of the connection process: the pipeline (a kanban by step, each card with
the time spent in its step against the step's SLA) and the price list in force."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from field.connections import service
from field.connections.machine import PIPELINE
from field.connections.models import ConnectionPriceList

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Connections", "/connections", "customers:read", order=35))


@router.get("/connections", response_class=HTMLResponse)
def pipeline(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "customers:read")
    now = datetime.now(UTC)
    columns: dict[str, list[object]] = {step: [] for step in PIPELINE}
    for row in service.staff_requests(session, actor):
        if row.status in columns:
            columns[row.status].append(service.read(session, row, now))
    lists = session.query(ConnectionPriceList).order_by(ConnectionPriceList.version.desc()).all()
    return render(
        request,
        "connections.html",
        actor,
        title="Connection requests",
        columns=columns,
        now=now,
        price_lists=lists,
    )
