"""The case board: open cases in columns by status, with SLA badges, filtered by type,
agency and assignee."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.params import OptionalId
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from customers import repository, service
from customers.enums import CaseStatus, CaseType
from customers.sla import add_working_days, local_date

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Cases", "/cases", "customers:read", order=30))

BOARD_COLUMNS = (
    CaseStatus.OPEN,
    CaseStatus.IN_PROGRESS,
    CaseStatus.WAITING_CUSTOMER,
    CaseStatus.RESOLVED,
)
CARDS_PER_COLUMN = 100
# A case is "due soon" when its due day is at most this many working days away.
DUE_SOON_WORKING_DAYS = 2


def _badge(case: object, today: object, soon: object) -> tuple[str, str]:
    due, resolved = case.due_date, case.resolved_at  # type: ignore[attr-defined]
    if case.sla_breached or (resolved is None and today > due):  # type: ignore[attr-defined]
        return "breached", "Breached"
    if resolved is not None:
        return "ok", "Met"
    if due <= soon:  # type: ignore[operator]
        return "due", "Due today" if due == today else "Due soon"
    return "ok", "On time"


@router.get("/cases", response_class=HTMLResponse)
def case_board(
    request: Request,
    session: DbSession,
    case_type: CaseType | None = None,
    agency_id: OptionalId = None,
    assignee: Literal["all", "me", "group", "unassigned"] = "all",
) -> Response:
    actor = page_actor(request, session, "customers:read")
    today = local_date(datetime.now(UTC))
    soon = add_working_days(today, DUE_SOON_WORKING_DAYS)
    board = service.case_board(
        session,
        actor=actor,
        statuses=[status.value for status in BOARD_COLUMNS],
        case_type=case_type.value if case_type else None,
        agency_id=agency_id,
        assignee=assignee,
        per_column=CARDS_PER_COLUMN,
    )
    columns = [
        {
            "status": column.status,
            "label": column.status.replace("_", " ").capitalize(),
            "cards": [
                {
                    "case": c,
                    "party_name": column.party_names.get(c.party_id, ""),
                    "badge": _badge(c, today, soon),
                }
                for c in column.cases
            ],
            "total": column.total,
        }
        for column in board
    ]
    return render(
        request,
        "cases.html",
        actor,
        title="Cases",
        columns=columns,
        agencies=repository.agency_choices(session),
        case_types=[t.value for t in CaseType],
        case_type=case_type.value if case_type else "",
        agency_id=agency_id,
        assignee=assignee,
        today=today,
    )
