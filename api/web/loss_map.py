"""The loss map for managers: transformer zones coloured by the NTL share of their energy
balance for a month, flagged zones outlined; click a zone for its balance."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import DbSession
from api.web.maps import render_map
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.settings import get_settings
from core.territory import bounds as territory_bounds
from fraud import loss_map
from fraud.service import parse_month

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Losses", "/map/losses", "fraud:read", order=40))

MONTH = Query(None, pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$")


@router.get("/map/losses", response_class=HTMLResponse)
def loss_map_page(request: Request, session: DbSession, month: str | None = MONTH) -> Response:
    actor = page_actor(request, session, "fraud:read")
    settings = get_settings()
    months = [f"{m:%Y-%m}" for m in loss_map.months_computed(session)]
    box = territory_bounds(session, actor)
    config: dict[str, Any] = {
        "month": month or (months[0] if months else None),
        "months": months,
        "bounds": None if box is None else [[box[1], box[0]], [box[3], box[2]]],
    }
    return render(
        request,
        "loss_map.html",
        actor,
        title="Loss map",
        map=render_map(centre=(settings.map_centre_lon, settings.map_centre_lat), zoom=14),
        offline=not settings.tile_url,
        config=json.dumps(config),
    )


@router.get("/map/losses/zones.geojson")
def loss_map_zones(request: Request, session: DbSession, month: str = MONTH) -> Response:
    """The month's transformer zones the signed-in user sees, as GeoJSON."""
    actor = page_actor(request, session, "fraud:read")
    if month is None:
        return JSONResponse({"type": "FeatureCollection", "features": []})
    collection = loss_map.transformer_zones(session, actor, parse_month(month))
    return JSONResponse(collection, media_type="application/geo+json")


@router.get("/map/losses/feeders.json")
def loss_map_feeders(request: Request, session: DbSession, month: str = MONTH) -> Response:
    """Each feeder's NTL share over the 12 months ending with ``month`` (the trend beside
    the map; clicking a feeder drills down to its transformer zones)."""
    actor = page_actor(request, session, "fraud:read")
    if month is None:
        return JSONResponse({"feeders": []})
    return JSONResponse({"feeders": loss_map.feeder_trends(session, actor, parse_month(month))})
