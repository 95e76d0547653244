"""The report catalogue's pages: the list, one report with its filters, table, chart and
CSV / XLSX links, and a background export's progress with its download link."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.params import Id, OptionalId
from api.routes.reports import ReportName, filters_of
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.reports import background, catalogue
from core.reports.tasks import queue_export

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Reports", "/reports", "reports:read", order=80))


@router.get("/reports", response_class=HTMLResponse)
def catalogue_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "reports:read")
    return render(request, "reports.html", actor, title="Reports", reports=catalogue.reports())


@router.get("/reports/{report}", response_class=HTMLResponse)
def report_page(
    request: Request,
    session: DbSession,
    report: ReportName,
    period_start: date | None = None,
    period_end: date | None = None,
    agency_id: OptionalId = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    actor = page_actor(request, session, "reports:read")
    definition = catalogue.get(report)
    filters = filters_of(period_start, period_end, agency_id, category)
    table = definition.build(session, actor, filters)
    chart = {
        "labels": [str(r[table.chart_x]) for r in table.rows] if table.chart_x else [],
        "datasets": [
            {
                "label": next(c.label for c in table.columns if c.key == key),
                "data": [float(r[key] or 0) for r in table.rows],
            }
            for key in table.chart_y
        ],
    }
    query = "&".join(f"{k}={v}" for k, v in filters.as_dict().items() if v is not None)
    return render(
        request,
        "report.html",
        actor,
        title=definition.title,
        report=definition,
        table=table,
        columns=[asdict(c) for c in table.columns],
        filters=filters,
        query=query,
        chart=json.dumps(chart),
    )


@router.post("/reports/{report}/exports", response_class=HTMLResponse)
def export_page_request(
    request: Request,
    session: DbSession,
    report: ReportName,
    format: Annotated[Literal["csv", "xlsx"], Form()] = "xlsx",
    period_start: Annotated[date | None, Form()] = None,
    period_end: Annotated[date | None, Form()] = None,
    agency_id: Annotated[int | None, Form(ge=1)] = None,
    category: Annotated[str | None, Form(max_length=40)] = None,
) -> Response:
    actor = page_actor(request, session, "reports:read")
    filters = filters_of(period_start, period_end, agency_id, category)
    job = queue_export(session, actor, report, filters, format)
    return RedirectResponse(f"/reports/exports/{job.id}", status_code=303)


@router.get("/reports/exports/{export_id}", response_class=HTMLResponse)
def export_progress_page(request: Request, session: DbSession, export_id: Id) -> Response:
    actor = page_actor(request, session, "reports:read")
    job = background.get(session, actor, export_id)
    return render(request, "report_export.html", actor, title="Export", job=job)
