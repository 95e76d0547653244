"""The field office pages: the supervisor's round-progress map (read / skipped / pending per
stop, per reader), the work-order board and an order's detail, the seal inventory. Every
query is the caller's territory's (``field.office``)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import DbSession
from api.params import Id, OptionalId
from api.web.maps import render_map
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.settings import get_settings
from core.territory import bounds as territory_bounds
from field import office, repository
from field.enums import WorkOrderKind

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Rounds", "/map/rounds", "field:read", order=35))
register_nav_item(NavItem("Work orders", "/field/work-orders", "field:read", order=36))
register_nav_item(NavItem("Seals", "/field/seals", "field:read", order=37))

PERIOD = Query(None, pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$")


def _period(session: Any, actor: Any, period: str | None) -> date | None:
    if period is not None:
        return date.fromisoformat(f"{period}-01")
    periods = office.round_periods(session, actor)
    return periods[0] if periods else None


@router.get("/map/rounds", response_class=HTMLResponse)
def round_map(
    request: Request, session: DbSession, period: str | None = PERIOD, round_id: OptionalId = None
) -> Response:
    """Where the readers are with the period's rounds: each stop coloured by its state,
    the progress of each reader and each round beside the map."""
    actor = page_actor(request, session, "field:read")
    settings = get_settings()
    month = _period(session, actor, period)
    box = territory_bounds(session, actor)
    config = {
        "period": f"{month:%Y-%m}" if month else None,
        "round_id": round_id,
        "bounds": None if box is None else [[box[1], box[0]], [box[3], box[2]]],
    }
    return render(
        request,
        "field_round_map.html",
        actor,
        title="Round progress",
        map=render_map(centre=(settings.map_centre_lon, settings.map_centre_lat), zoom=14),
        offline=not settings.tile_url,
        config=json.dumps(config),
        periods=[f"{p:%Y-%m}" for p in office.round_periods(session, actor)],
        period=config["period"],
        rounds=office.rounds_of(session, actor, month) if month else [],
        readers=office.progress_by_reader(session, actor, month) if month else [],
        round_id=round_id,
    )


@router.get("/map/rounds/stops.geojson")
def round_stops(
    request: Request, session: DbSession, period: str = PERIOD, round_id: OptionalId = None
) -> Response:
    """The period's stops the signed-in user sees, as GeoJSON (EPSG:4326)."""
    actor = page_actor(request, session, "field:read")
    if period is None:
        return JSONResponse({"type": "FeatureCollection", "features": []})
    collection = office.stops_geojson(
        session, actor, period=date.fromisoformat(f"{period}-01"), round_id=round_id
    )
    return JSONResponse(collection, media_type="application/geo+json")


@router.get("/field/work-orders", response_class=HTMLResponse)
def work_order_board(
    request: Request, session: DbSession, kind: WorkOrderKind | None = None
) -> Response:
    actor = page_actor(request, session, "field:read")
    columns = office.work_order_board(session, actor, kind=kind.value if kind else None)
    return render(
        request,
        "field_work_orders.html",
        actor,
        title="Work orders",
        columns=columns,
        kinds=[k.value for k in WorkOrderKind],
        kind=kind.value if kind else None,
    )


@router.get("/field/work-orders/{work_order_id}", response_class=HTMLResponse)
def work_order_detail(request: Request, session: DbSession, work_order_id: Id) -> Response:
    actor = page_actor(request, session, "field:read")
    order = repository.get_work_order(session, actor, work_order_id)
    technician = (
        repository.get_technician(session, actor, order.technician_id)
        if order.technician_id
        else None
    )
    return render(
        request,
        "field_work_order.html",
        actor,
        title=f"Work order {order.number}",
        order=order,
        technician=technician,
        history=repository.work_order_history(session, order.id),
        outcome=json.dumps(order.outcome, indent=2, ensure_ascii=False) if order.outcome else None,
        instructions=json.dumps(order.instructions, indent=2, ensure_ascii=False),
    )


@router.get("/field/seals", response_class=HTMLResponse)
def seal_inventory(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "field:read")
    return render(
        request,
        "field_seals.html",
        actor,
        title="Seal inventory",
        batches=office.seal_inventory(session, actor),
        statuses=["in_stock", "issued", "applied", "broken", "removed", "lost"],
        held=office.seals_held(session, actor),
        anomalies=office.recent_seal_anomalies(session, actor),
    )
