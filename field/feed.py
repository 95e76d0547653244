"""What one technician's device needs, as deltas: the round items, work orders and seals
issued to them that changed after a version, plus what left them.

Versions come from the technician's own counter (``field.models``, trigger of migration
0011), shared by the three tables and the releases, so one integer orders all of a
technician's changes and versions commit in the order they were drawn: pulling with the
last ``high_water`` never misses a change nor repeats one. Apply the changes in version
order: a release older than the row's current version is superseded by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.pages import LIMIT_MAX
from customers.models import ServiceLocation, UsagePoint
from field.models import AssignmentRelease, ReadingRound, RoundItem, Seal, SealBatch, WorkOrder


@dataclass
class Assignments:
    """A page of one technician's changes after ``since``, oldest first."""

    round_items: list[dict[str, Any]] = field(default_factory=list)
    work_orders: list[dict[str, Any]] = field(default_factory=list)
    seals: list[dict[str, Any]] = field(default_factory=list)
    released: list[dict[str, Any]] = field(default_factory=list)
    high_water: int = 0  # pass it back as ``since``
    more: bool = False  # another page is waiting


def _round_item(item: RoundItem, reading_round: ReadingRound, code: str) -> dict[str, Any]:
    return {
        "id": item.id,
        "version": item.change_version,
        "round_id": reading_round.id,
        "round_code": reading_round.code,
        "route_version": reading_round.route_version,
        "sequence": item.sequence,
        "usage_point_id": item.usage_point_id,
        "usage_point_code": code,
        "meter_serial": item.meter_serial,
        "registers": item.expected,  # previous read and expected range per register
        "lon": item.lon,
        "lat": item.lat,
        "access_notes": item.access_notes,
        "status": item.status,
        "skip_code": item.skip_code,
    }


def _work_order(order: WorkOrder, lon: float | None, lat: float | None) -> dict[str, Any]:
    return {
        "id": order.id,
        "version": order.change_version,
        "number": order.number,
        "kind": order.kind,
        "status": order.status,
        "priority": order.priority,
        "usage_point_id": order.usage_point_id,
        "meter_serial": order.instructions.get("meter_serial"),
        "registers": order.instructions.get("expected", {}),
        "lon": lon,
        "lat": lat,
        "planned_date": order.planned_date.isoformat() if order.planned_date else None,
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "reason": order.reason,
        "instructions": order.instructions,
    }


def _seal(seal: Seal, batch_code: str) -> dict[str, Any]:
    return {
        "id": seal.id,
        "version": seal.change_version,
        "number": seal.number,
        "kind": seal.kind,
        "status": seal.status,
        "batch_code": batch_code,
    }


def assignments_since(
    session: Session, *, technician_id: int, since: int, limit: int = LIMIT_MAX
) -> Assignments:
    """The technician's changes with a version above ``since``, at most ``limit`` of them
    in version order (``more`` when others wait), and the new high-water mark.

    - ``round_items``: stops of their rounds in walking order (``sequence``), with the
      round's ``route_version``, meter serial, previous read and expected range per
      register, location (lon/lat, EPSG:4326) and access notes;
    - ``work_orders``: orders assigned to them, in any state (a completed or cancelled
      one tells the device it is done);
    - ``seals``: seals issued to them (in their bag);
    - ``released``: ``{kind, id, version}`` of rows that left them (re-assigned, withdrawn,
      applied seals): the device drops them.

    No territory filter: the technician is the filter (the caller checks who asks).
    """
    limit = max(1, min(limit, 10_000))
    items = session.execute(
        select(RoundItem, ReadingRound, UsagePoint.code)
        .join(ReadingRound, ReadingRound.id == RoundItem.round_id)
        .join(UsagePoint, UsagePoint.id == RoundItem.usage_point_id)
        .where(RoundItem.technician_id == technician_id, RoundItem.change_version > since)
        .order_by(RoundItem.change_version)
        .limit(limit + 1)
    ).all()
    orders = session.execute(
        select(WorkOrder, func.ST_X(ServiceLocation.geom), func.ST_Y(ServiceLocation.geom))
        .outerjoin(UsagePoint, UsagePoint.id == WorkOrder.usage_point_id)
        .outerjoin(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(WorkOrder.technician_id == technician_id, WorkOrder.change_version > since)
        .order_by(WorkOrder.change_version)
        .limit(limit + 1)
    ).all()
    seals = session.execute(
        select(Seal, SealBatch.code)
        .join(SealBatch, SealBatch.id == Seal.batch_id)
        .where(Seal.technician_id == technician_id, Seal.change_version > since)
        .order_by(Seal.change_version)
        .limit(limit + 1)
    ).all()
    releases = session.scalars(
        select(AssignmentRelease)
        .where(
            AssignmentRelease.technician_id == technician_id,
            AssignmentRelease.change_version > since,
        )
        .order_by(AssignmentRelease.change_version)
        .limit(limit + 1)
    ).all()
    merged: list[tuple[int, str, Any]] = sorted(
        [(i.change_version, "item", (i, r, c)) for i, r, c in items]
        + [(o.change_version, "order", (o, x, y)) for o, x, y in orders]
        + [(s.change_version, "seal", (s, c)) for s, c in seals]
        + [(r.change_version, "release", r) for r in releases],
        key=lambda entry: entry[0],
    )
    page = Assignments(high_water=since, more=len(merged) > limit)
    for version, kind, row in merged[:limit]:
        page.high_water = version
        if kind == "item":
            page.round_items.append(_round_item(*row))
        elif kind == "order":
            page.work_orders.append(_work_order(*row))
        elif kind == "seal":
            page.seals.append(_seal(*row))
        else:
            page.released.append({"kind": row.kind, "id": row.object_id, "version": version})
    page.round_items.sort(key=lambda i: (i["round_id"], i["sequence"]))
    return page
