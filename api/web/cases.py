"""The case board: open cases in columns by status, with SLA badges, filtered by type,
agency and assignee."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.deps import DbSession
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.auth.models import Agency, User
from customers import repository
from customers.enums import CaseStatus, CaseType
from customers.models import Party
from customers.schemas import MAX_ID
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
    agency_id: int | None = Query(None, ge=1, le=MAX_ID),
    assignee: Literal["all", "me", "group", "unassigned"] = "all",
) -> Response:
    actor = page_actor(request, session, "customers:read")
    roles: list[str] = []
    if assignee == "group":
        roles = session.scalar(select(User.roles).where(User.id == actor.user_id)) or []
    today = local_date(datetime.now(UTC))
    soon = add_working_days(today, DUE_SOON_WORKING_DAYS)
    columns = []
    for status in BOARD_COLUMNS:
        query = repository.cases_query(
            session,
            actor,
            case_type=case_type.value if case_type else None,
            status=[status.value],
            agency_id=agency_id,
            assignee_user_id=(actor.user_id or -1) if assignee == "me" else None,
            assignee_groups=(roles or [""]) if assignee == "group" else None,
        )
        if assignee == "unassigned":
            from customers.models import Case

            query = query.where(Case.assignee_user_id.is_(None), Case.assignee_group.is_(None))
        cases, total = repository.page(session, query, offset=0, limit=CARDS_PER_COLUMN)
        names = dict(
            session.execute(
                select(Party.id, Party.display_name).where(
                    Party.id.in_([c.party_id for c in cases if c.party_id])
                )
            ).all()
        )
        cards = [
            {"case": c, "party_name": names.get(c.party_id, ""), "badge": _badge(c, today, soon)}
            for c in cases
        ]
        columns.append(
            {
                "status": status.value,
                "label": status.value.replace("_", " ").capitalize(),
                "cards": cards,
                "total": total,
            }
        )
    agencies = session.execute(select(Agency.id, Agency.code).order_by(Agency.code)).all()
    return render(
        request,
        "cases.html",
        actor,
        title="Cases",
        columns=columns,
        agencies=agencies,
        case_types=[t.value for t in CaseType],
        case_type=case_type.value if case_type else "",
        agency_id=agency_id,
        assignee=assignee,
        today=today,
    )
