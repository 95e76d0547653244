"""The network map: feeders in their colours, transformers sized by kVA, service points and
switches as vector tiles; click for details, search by code, trace highlighting."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.web.maps import render_map
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.settings import get_settings
from core.territory import bounds as territory_bounds
from gis import tiles

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Network", "/map/network", "network:read", order=10))

DEFAULT_ZOOM = 15


@router.get("/map/network", response_class=HTMLResponse)
def network_map(
    request: Request,
    session: DbSession,
    lon: float | None = Query(None, ge=-180, le=180),
    lat: float | None = Query(None, ge=-85, le=85),
    zoom: int = Query(DEFAULT_ZOOM, ge=2, le=20),
    focus: str | None = Query(None, max_length=100, pattern=r"^[^\x00-\x1f]+$"),
) -> Response:
    actor = page_actor(request, session, "network:read")
    settings = get_settings()
    centre = (settings.map_centre_lon, settings.map_centre_lat)
    bounds = None
    box = territory_bounds(session, actor)
    if box is not None:  # open on the caller's own territory
        min_lon, min_lat, max_lon, max_lat = box
        bounds = [[min_lat, min_lon], [max_lat, max_lon]]
    if lon is not None and lat is not None:
        centre, bounds = (lon, lat), None
    config = {
        "bounds": bounds,
        "focus": focus,
        "minZoom": {name: layer.min_zoom for name, layer in tiles.LAYERS.items()},
        "lvMinZoom": 15,
    }
    return render(
        request,
        "network_map.html",
        actor,
        title="Network map",
        map=render_map(centre=centre, zoom=zoom),
        offline=not settings.tile_url,
        config=json.dumps(config),
    )
