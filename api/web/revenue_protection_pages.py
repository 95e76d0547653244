"""Revenue protection's pages: the NTL cases (list, and a case's file with its findings,
assessment, back-bill and history) and the supervision of automatic restoration (running
processes, p50 / p95 per branch, the stuck ones). Actions go through the API with the
page's session cookie."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.params import Id, OptionalId
from api.web.maps import render_map
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.periods import add_months, month_start
from revenue_protection import campaigns, dashboard, loss_drilldown, service, supervision
from revenue_protection.enums import CaseStatus

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("NTL cases", "/revenue-protection/cases", "rp:read", order=42))
register_nav_item(NavItem("Restorations", "/revenue-protection/restorations", "rp:read", order=43))

PAGE = 100


@router.get("/revenue-protection/cases", response_class=HTMLResponse)
def case_list(
    request: Request, session: DbSession, status: CaseStatus | None = None, offset: int = 0
) -> Response:
    actor = page_actor(request, session, "rp:read")
    page = service.list_cases(
        session, actor=actor, status=status, offset=max(0, offset), limit=PAGE
    )
    return render(
        request,
        "rp_cases.html",
        actor,
        title="NTL cases",
        page=page,
        status=status.value if status else None,
        statuses=[s.value for s in CaseStatus],
    )


@router.get("/revenue-protection/cases/{ntl_case_id}", response_class=HTMLResponse)
def case_page(request: Request, session: DbSession, ntl_case_id: Id) -> Response:
    actor = page_actor(request, session, "rp:read")
    case = service.get_case(session, actor=actor, case_id=ntl_case_id)
    history = service.case_history(session, actor=actor, case_id=ntl_case_id)
    return render(
        request, "rp_case.html", actor, title=f"NTL case {case.id}", case=case, history=history
    )


@router.get("/revenue-protection/restorations", response_class=HTMLResponse)
def restorations(request: Request, session: DbSession, stuck_after_minutes: int = 60) -> Response:
    actor = page_actor(request, session, "rp:read")
    figures = supervision.supervise(
        session, actor=actor, stuck_after_minutes=max(1, min(stuck_after_minutes, 10080))
    )
    recent = supervision.list_restorations(session, actor=actor, offset=0, limit=50)
    return render(
        request,
        "rp_restorations.html",
        actor,
        title="Restorations",
        figures=figures,
        recent=recent,
    )


@router.get("/revenue-protection/dashboard", response_class=HTMLResponse)
def loss_dashboard(request: Request, session: DbSession, months: int = 12) -> Response:
    """Losses per zone and month with bars, the recovery and field figures, exports."""
    actor = page_actor(request, session, "rp:read")
    last = month_start(datetime.now(UTC))
    first = add_months(last, -max(1, min(months, 60)))
    board = dashboard.build(session, actor=actor, first=first, last=last)
    return render(
        request,
        "rp_dashboard.html",
        actor,
        title="Losses",
        board=board,
        months=months,
        from_month=f"{first:%Y-%m}",
        to_month=f"{add_months(last, -1):%Y-%m}",
    )


@router.get("/revenue-protection/dashboard/customers", response_class=HTMLResponse)
def zone_customers(
    request: Request, session: DbSession, transformer_id: OptionalId = None,
    feeder_id: OptionalId = None, months: int = 12,
) -> Response:  # fmt: skip
    """The drill-down from a zone of the dashboard to its customers (first 500)."""
    actor = page_actor(request, session, "rp:read")
    last = month_start(datetime.now(UTC))
    first = add_months(last, -max(1, min(months, 60)))
    zone = loss_drilldown.zone_customers(
        session, actor=actor, first=first, last=last, transformer_id=transformer_id,
        feeder_id=feeder_id, limit=500,
    )  # fmt: skip
    to_month = f"{add_months(last, -1):%Y-%m}"
    query = urlencode(
        {k: v for k, v in {"transformer_id": transformer_id, "feeder_id": feeder_id}.items() if v}
        | {"from_month": f"{first:%Y-%m}", "to_month": to_month}
    )
    label = (
        f"transformer {transformer_id}" if transformer_id
        else (f"feeder {feeder_id}" if feeder_id else "the territory")
    )  # fmt: skip
    return render(
        request,
        "rp_zone_customers.html",
        actor,
        title="Zone customers",
        zone=zone,
        zone_label=label,
        query=query,
        from_month=f"{first:%Y-%m}",
        to_month=to_month,
    )


@router.get("/revenue-protection/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, session: DbSession, campaign_id: Id) -> Response:
    """A campaign's progress per agent and its stops on the map, coloured by outcome."""
    actor = page_actor(request, session, "rp:read")
    seen = campaigns.progress(session, actor=actor, campaign_id=campaign_id)
    stops = campaigns.campaign_map(session, actor=actor, campaign_id=campaign_id)
    return render(
        request,
        "rp_campaign.html",
        actor,
        title=f"Campaign {campaign_id}",
        progress=seen,
        stops=json.dumps(stops),
        map=render_map(zoom=14),
    )
