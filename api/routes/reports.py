"""The report catalogue over the API: each report as JSON, CSV or XLSX, filtered by period,
agency and category under the caller's territory; large exports in the background."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentActor, DbSession
from api.downloads import attachment
from api.params import Id, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.errors import FieldError, InputInvalidError
from core.periods import Period, add_months, local_date, month_start
from core.reports import background, catalogue, export
from core.reports.catalogue import ReportFilters
from core.reports.tasks import queue_export

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=PROBLEM_RESPONSES)

ReportName = Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$")]


class ReportPeriodInvalidError(InputInvalidError):
    code = "report_period_invalid"


def filters_of(
    period_start: date | None, period_end: date | None, agency_id: int | None, category: str | None
) -> ReportFilters:
    """The filters; no period: last month (local calendar). At most 5 years at once."""
    if period_start is None or period_end is None:
        this_month = month_start(local_date(datetime.now(UTC)))
        period_start, period_end = add_months(this_month, -1), this_month
    if period_end <= period_start or (period_end - period_start).days > 366 * 5:
        raise ReportPeriodInvalidError(
            "a report's period ends after it starts and spans at most 5 years",
            errors=[FieldError("period_end", "must follow period_start, within 5 years")],
        )
    return ReportFilters(Period(period_start, period_end), agency_id, category or None)


class ReportInfo(BaseModel):
    name: str
    title: str
    description: str
    uses_category: bool


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_start: date | None = None
    period_end: date | None = None
    agency_id: int | None = Field(None, ge=1)
    category: str | None = Field(None, max_length=40)
    format: Literal["csv", "xlsx"] = "xlsx"


class ExportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    report: str
    filters: dict[str, Any]
    format: str
    status: str
    progress: int
    rows: int | None
    error: str | None


@router.get("/reports", response_model=list[ReportInfo])
def list_reports(actor: CurrentActor("reports:read")) -> list[ReportInfo]:  # type: ignore[valid-type]
    return [
        ReportInfo(
            name=r.name, title=r.title, description=r.description, uses_category=r.uses_category
        )
        for r in catalogue.reports()
    ]


@router.get("/reports/{report}", response_model=None)
def get_report(
    session: DbSession,
    actor: CurrentActor("reports:read"),  # type: ignore[valid-type]
    report: ReportName,
    period_start: date | None = None,
    period_end: date | None = None,
    agency_id: OptionalId = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    definition = catalogue.get(report)
    table = definition.build(
        session, actor, filters_of(period_start, period_end, agency_id, category)
    )
    if format == "json":
        return {
            "name": definition.name,
            "title": definition.title,
            "columns": [asdict(c) for c in table.columns],
            "rows": table.rows,
            "totals": table.totals,
            "notes": table.notes,
        }
    return attachment(
        export.render(table, format, definition.title),
        f"{report}.{format}",
        export.MEDIA_TYPES[format],
    )


@router.post("/reports/{report}/exports", response_model=ExportRead, status_code=202)
def request_export(
    body: ExportRequest,
    session: DbSession,
    actor: CurrentActor("reports:read"),  # type: ignore[valid-type]
    report: ReportName,
) -> ExportRead:
    filters = filters_of(body.period_start, body.period_end, body.agency_id, body.category)
    return ExportRead.model_validate(queue_export(session, actor, report, filters, body.format))


@router.get("/report-exports/{export_id}", response_model=ExportRead)
def export_status(
    session: DbSession,
    actor: CurrentActor("reports:read"),  # type: ignore[valid-type]
    export_id: Id,
) -> ExportRead:
    return ExportRead.model_validate(background.get(session, actor, export_id))


@router.get("/report-exports/{export_id}/file", response_model=None)
def export_file(
    session: DbSession,
    actor: CurrentActor("reports:read"),  # type: ignore[valid-type]
    export_id: Id,
) -> Response:
    job = background.get(session, actor, export_id)
    if job.status != "done" or job.content is None:
        raise background.ReportExportNotReadyError(f"export {export_id} is {job.status}")
    return Response(
        job.content,
        media_type=export.MEDIA_TYPES[job.format],
        headers={
            "Content-Disposition": f'attachment; filename="{job.report}-{job.id}.{job.format}"'
        },
    )
