"""Customer pages: search, the customer's 360° file (consumption chart, premises map) and
the premises page (occupants over time, meters, map)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.customer360.queries import customer_360, premises_360
from api.customer360.schemas import UsagePointOut
from api.deps import DbSession
from api.params import Id
from api.web.maps import render_map
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from customers.search import search_parties

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Customers", "/customers", "customers:read", order=20))

SEARCH_LIMIT = 50


def _chart_data(usage_points: list[UsagePointOut]) -> str:
    """Monthly kWh per usage point for the chart script (JSON embedded in the page)."""
    series = [
        {
            "id": up.id,
            "code": up.code,
            "months": [c.month for c in up.consumption],
            "kwh": [float(c.kwh) for c in up.consumption],
            "estimated": [c.includes_estimate for c in up.consumption],
            "missing": [not c.has_actual_read for c in up.consumption],
        }
        for up in usage_points
    ]
    # "</" cannot close the script element from inside the JSON.
    return json.dumps(series).replace("</", "<\\/")


def _premises_features(points: list[dict[str, Any]]) -> str:
    features = [
        {
            "type": "Feature",
            "geometry": p["location"],
            "properties": {"label": p["label"], "href": p["href"], "current": p["current"]},
        }
        for p in points
        if p["location"]
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).replace("</", "<\\/")


@router.get("/customers", response_class=HTMLResponse)
def customer_search_page(
    request: Request,
    session: DbSession,
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = "",
) -> Response:
    actor = page_actor(request, session, "customers:read")
    query = q.strip()
    hits, total = (
        search_parties(session, actor, query, limit=SEARCH_LIMIT) if len(query) >= 2 else ([], 0)
    )
    return render(
        request, "customer_search.html", actor, title="Customers", q=query, hits=hits, total=total
    )


@router.get("/customers/{party_id}", response_class=HTMLResponse)
def customer_page(
    request: Request,
    session: DbSession,
    party_id: Id,
) -> Response:
    actor = page_actor(request, session, "customers:read")
    view = customer_360(session, actor, party_id)
    current = {c.usage_point_id for c in view.contracts if c.status in {"active", "pending"}}
    places = [
        {
            "location": up.premises.location,
            "href": f"/premises/{up.premises.id}",
            "label": f"{up.premises.code} · {up.premises.address_line}",
            "current": up.id in current,
        }
        for up in view.usage_points
    ]
    return render(
        request,
        "customer_360.html",
        actor,
        title=view.party.display_name,
        view=view,
        chart=_chart_data(view.usage_points),
        places=_premises_features(places),
        map=render_map(zoom=16),
    )


@router.get("/premises/{location_id}", response_class=HTMLResponse)
def premises_page(
    request: Request,
    session: DbSession,
    location_id: Id,
) -> Response:
    actor = page_actor(request, session, "customers:read")
    view = premises_360(session, actor, location_id)
    place = {
        "location": view.premises.location,
        "href": f"/premises/{view.premises.id}",
        "label": f"{view.premises.code} · {view.premises.address_line}",
        "current": True,
    }
    return render(
        request,
        "premises_360.html",
        actor,
        title=f"Premises {view.premises.code}",
        view=view,
        chart=_chart_data(view.usage_points),
        places=_premises_features([place]),
        map=render_map(zoom=17),
    )
