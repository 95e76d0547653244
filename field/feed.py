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
from sqlalchemy.orm import Session, aliased

from core.pages import LIMIT_MAX
from customers.models import ServiceLocation, UsagePoint
from field.models import AssignmentRelease, ReadingRound, RoundItem, Seal, SealBatch, WorkOrder
from meters.models import Meter, Register


@dataclass
class Assignments:
    """A page of one technician's changes after ``since``, oldest first."""

    round_items: list[dict[str, Any]] = field(default_factory=list)
    work_orders: list[dict[str, Any]] = field(default_factory=list)
    seals: list[dict[str, Any]] = field(default_factory=list)
    released: list[dict[str, Any]] = field(default_factory=list)
    high_water: int = 0  # pass it back as ``since``
    more: bool = False  # another page is waiting


# Lean rows: only the wire columns, as tuples (no ORM objects: building 500 of them was
# most of a pull's time), with the address and the register ids of the meter's serial.


def _address(location: Any) -> Any:
    """``"<line>, <city>"``, leaving out an empty part."""
    return func.concat_ws(
        ", ", func.nullif(location.address_line, ""), func.nullif(location.city, "")
    )


def _register_ids(serial: Any) -> Any:
    """``{code: register id}`` of the meter with ``serial`` (NULL when none)."""
    meter, register = aliased(Meter), aliased(Register)
    return (
        select(func.jsonb_object_agg(register.code, register.id))
        .select_from(register)
        .join(meter, meter.id == register.meter_id)
        .where(meter.serial == serial)
        .scalar_subquery()
    )


_ITEM_LOCATION = aliased(ServiceLocation)
_ITEM_COLUMNS = (
    RoundItem.id,
    RoundItem.change_version,
    ReadingRound.id,
    ReadingRound.code,
    ReadingRound.route_version,
    RoundItem.sequence,
    RoundItem.usage_point_id,
    UsagePoint.code,
    RoundItem.meter_serial,
    RoundItem.expected,
    RoundItem.lon,
    RoundItem.lat,
    RoundItem.access_notes,
    RoundItem.status,
    RoundItem.skip_code,
    _address(_ITEM_LOCATION),
    _register_ids(RoundItem.meter_serial),
)
_ITEM_KEYS = (
    "id",
    "version",
    "round_id",
    "round_code",
    "route_version",
    "sequence",
    "usage_point_id",
    "usage_point_code",
    "meter_serial",
    "registers",  # previous read and expected range per register
    "lon",
    "lat",
    "access_notes",
    "status",
    "skip_code",
    "address",
    "register_ids",
)


def _round_item(row: Any) -> dict[str, Any]:
    return dict(zip(_ITEM_KEYS, row, strict=True))


def _work_order(row: Any) -> dict[str, Any]:
    (id_, version, number, kind, status, priority, usage_point_id, instructions, planned,
     due, reason, lon, lat, address, register_ids) = row  # fmt: skip
    instructions = instructions or {}
    return {
        "id": id_,
        "version": version,
        "number": number,
        "kind": kind,
        "status": status,
        "priority": priority,
        "usage_point_id": usage_point_id,
        "meter_serial": instructions.get("meter_serial"),
        "registers": instructions.get("expected", {}),
        "lon": lon,
        "lat": lat,
        "planned_date": planned.isoformat() if planned else None,
        "due_date": due.isoformat() if due else None,
        "reason": reason,
        "instructions": instructions,
        "address": address if usage_point_id else "",
        "register_ids": register_ids,
    }


def _seal(row: Any) -> dict[str, Any]:
    id_, version, number, kind, status, batch_code = row
    return {
        "id": id_,
        "version": version,
        "number": number,
        "kind": kind,
        "status": status,
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
    - both with ``address`` (premises line and city) and ``register_ids`` (``{code: id}``
      of the meter with that serial, or None);
    - ``seals``: seals issued to them (in their bag);
    - ``released``: ``{kind, id, version}`` of rows that left them (re-assigned, withdrawn,
      applied seals): the device drops them.

    No territory filter: the technician is the filter (the caller checks who asks).
    """
    limit = max(1, min(limit, 10_000))
    items = session.execute(
        select(*_ITEM_COLUMNS)
        .join(ReadingRound, ReadingRound.id == RoundItem.round_id)
        .join(UsagePoint, UsagePoint.id == RoundItem.usage_point_id)
        .outerjoin(_ITEM_LOCATION, _ITEM_LOCATION.id == UsagePoint.service_location_id)
        .where(RoundItem.technician_id == technician_id, RoundItem.change_version > since)
        .order_by(RoundItem.change_version)
        .limit(limit + 1)
    ).all()
    orders = session.execute(
        select(
            WorkOrder.id,
            WorkOrder.change_version,
            WorkOrder.number,
            WorkOrder.kind,
            WorkOrder.status,
            WorkOrder.priority,
            WorkOrder.usage_point_id,
            WorkOrder.instructions,
            WorkOrder.planned_date,
            WorkOrder.due_date,
            WorkOrder.reason,
            func.ST_X(ServiceLocation.geom),
            func.ST_Y(ServiceLocation.geom),
            _address(ServiceLocation),
            _register_ids(WorkOrder.instructions["meter_serial"].astext),
        )
        .outerjoin(UsagePoint, UsagePoint.id == WorkOrder.usage_point_id)
        .outerjoin(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(WorkOrder.technician_id == technician_id, WorkOrder.change_version > since)
        .order_by(WorkOrder.change_version)
        .limit(limit + 1)
    ).all()
    seals = session.execute(
        select(Seal.id, Seal.change_version, Seal.number, Seal.kind, Seal.status, SealBatch.code)
        .join(SealBatch, SealBatch.id == Seal.batch_id)
        .where(Seal.technician_id == technician_id, Seal.change_version > since)
        .order_by(Seal.change_version)
        .limit(limit + 1)
    ).all()
    releases = session.execute(
        select(
            AssignmentRelease.change_version,
            AssignmentRelease.kind,
            AssignmentRelease.object_id,
        )
        .where(
            AssignmentRelease.technician_id == technician_id,
            AssignmentRelease.change_version > since,
        )
        .order_by(AssignmentRelease.change_version)
        .limit(limit + 1)
    ).all()
    merged: list[tuple[int, str, Any]] = sorted(
        [(row[1], "item", row) for row in items]
        + [(row[1], "order", row) for row in orders]
        + [(row[1], "seal", row) for row in seals]
        + [(row[0], "release", row) for row in releases],
        key=lambda entry: entry[0],
    )
    page = Assignments(high_water=since, more=len(merged) > limit)
    for version, kind, row in merged[:limit]:
        page.high_water = version
        if kind == "item":
            page.round_items.append(_round_item(row))
        elif kind == "order":
            page.work_orders.append(_work_order(row))
        elif kind == "seal":
            page.seals.append(_seal(row))
        else:
            page.released.append({"kind": row[1], "id": row[2], "version": version})
    page.round_items.sort(key=lambda i: (i["round_id"], i["sequence"]))
    return page
