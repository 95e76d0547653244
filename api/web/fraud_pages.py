"""The fraud analyst's pages: the queue of flags (highest priority first) and a flag's page
with its evidence (consumption beside the peers' median, reasons, zone balance, meter
history, payments, a map) and the lifecycle buttons, which call the API
(``/api/v1/fraud/flags/{id}/transitions``) with the page's session cookie."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.params import Id
from api.web.maps import render_map
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from fraud import review
from fraud.enums import FlagStatus
from fraud.machines import FLAG

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Flags", "/fraud/flags", "fraud:read", order=41))

PAGE = 100


@router.get("/fraud/flags", response_class=HTMLResponse)
def flag_queue(
    request: Request, session: DbSession, status: FlagStatus | None = None, offset: int = 0
) -> Response:
    actor = page_actor(request, session, "fraud:read")
    page = review.list_flags(
        session,
        actor=actor,
        status=status,
        open_only=status is None,
        offset=max(0, offset),
        limit=PAGE,
    )
    return render(
        request,
        "fraud_queue.html",
        actor,
        title="Flags",
        page=page,
        status=status.value if status else None,
        statuses=[s.value for s in FlagStatus],
    )


@router.get("/fraud/flags/{flag_id}", response_class=HTMLResponse)
def flag_page(request: Request, session: DbSession, flag_id: Id) -> Response:
    actor = page_actor(request, session, "fraud:read")
    evidence = review.evidence(session, actor=actor, flag_id=flag_id)
    allowed = _allowed(evidence.flag.status)
    chart = {
        "months": [f"{m:%Y-%m}" for m in evidence.months],
        "kwh": evidence.consumption_kwh,
        "peers": evidence.peers_median_kwh,
        "peer_count": evidence.peers,
    }
    places = {
        "premises": evidence.location,
        "transformer": evidence.transformer_location,
        "transformer_code": evidence.transformer_code,
    }
    return render(
        request,
        "fraud_flag.html",
        actor,
        title=f"Flag {flag_id}",
        ev=evidence,
        allowed=allowed if actor.has_scope("fraud:review") else [],
        chart=json.dumps(chart),
        places=json.dumps(places),
        map=render_map(zoom=16),
    )


def _allowed(status: str) -> list[str]:
    """The lifecycle steps a flag in ``status`` may take (for the buttons)."""
    machine = FLAG.machine(model=type("S", (), {"status": status})(), state_field="status")
    return sorted(e.id for e in machine.allowed_events)
