"""Reading rounds: built for a period from a selection of usage points (a reading cycle,
a transformer or feeder zone, a polygon drawn on the map), ordered as a walking route,
given to a reader, then read stop by stop (or skipped with a code).

Distances are metric, in the deployment's projected CRS (``KILOWATCH_PROJECTED_CRS``):
PostGIS transforms the premises' points (EPSG:4326) before ``field.routing`` orders them.
Each stop carries the expected range per register from the readings history, computed by
the meter domain's validation rules (``meters.service.expected_reads``). A read the same
rules find implausible creates a re-read work order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from core.outbox import emit
from core.periods import month_start, zone
from core.settings import get_settings
from customers.models import ServiceLocation, UsagePoint
from field import repository
from field.enums import RoundItemStatus, RoundSelection, RoundStatus, WorkOrderKind
from field.errors import (
    RoundClosedError,
    RoundEmptyError,
    RoundItemDoneError,
    RoundItemNotYoursError,
    RoundSelectionInvalidError,
)
from field.events import ImplausibleReadTaken
from field.models import (
    ROUND_CODE_SEQ,
    ReadingCycle,
    ReadingCycleMember,
    ReadingRound,
    RoundItem,
    WorkOrder,
)
from field.organisation import own_agency
from field.reads import store_reads
from field.routing import order_stops, path_length
from field.schemas import RoundBuild, RoundReadingRequest, SkipRequest, WorkOrderCreate
from field.work_orders import create_work_order
from gis.models import ServicePoint
from meters import service as meters


def projected_srid() -> int:
    """The SRID of ``KILOWATCH_PROJECTED_CRS`` ("EPSG:32631" -> 32631)."""
    return int(get_settings().projected_crs.split(":")[1])


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone()).astimezone(UTC)


@dataclass(frozen=True)
class _Stop:
    usage_point_id: int
    code: str
    lon: float | None
    lat: float | None
    x: float
    y: float
    access_notes: str | None


def _selected(session: Session, actor: Actor, data: RoundBuild) -> list[_Stop]:
    """The usage points the selection names, that the actor sees, with their metric point."""
    srid = projected_srid()
    projected = func.ST_Transform(ServiceLocation.geom, srid)
    query = repository.usage_point_query(actor).add_columns(
        func.ST_X(projected).label("x"), func.ST_Y(projected).label("y")
    )
    if data.by == RoundSelection.CYCLE:
        assert data.cycle_code is not None
        cycle = session.scalar(select(ReadingCycle.id).where(ReadingCycle.code == data.cycle_code))
        _known(cycle, "cycle_code", data.cycle_code)
        query = query.join(
            ReadingCycleMember, ReadingCycleMember.usage_point_id == UsagePoint.id
        ).where(ReadingCycleMember.cycle_id == cycle)
    elif data.by == RoundSelection.TRANSFORMER:
        assert data.transformer_code is not None
        key = repository.transformer_id(session, data.transformer_code)
        _known(key, "transformer_code", data.transformer_code)
        query = query.where(ServicePoint.transformer_id == key)
    elif data.by == RoundSelection.FEEDER:
        assert data.feeder_code is not None
        key = repository.feeder_id(session, data.feeder_code)
        _known(key, "feeder_code", data.feeder_code)
        query = query.where(ServicePoint.feeder_id == key)
    else:
        assert data.polygon is not None
        shape = func.ST_SetSRID(
            func.ST_GeomFromGeoJSON(json.dumps(data.polygon.model_dump())), 4326
        )
        query = query.where(func.ST_Intersects(ServiceLocation.geom, shape))
    query = query.where(ServiceLocation.geom.is_not(None)).order_by(UsagePoint.code)
    return [
        _Stop(r.id, r.code, r.lon, r.lat, r.x, r.y, r.landmark or None)
        for r in session.execute(query)
    ]


def _known(key: int | None, field: str, code: str) -> None:
    if key is None:
        raise RoundSelectionInvalidError(
            f"no {field.removesuffix('_code')} {code}",
            errors=[FieldError(field, "unknown code", "reference_unknown")],
        )


def _order(stops: list[_Stop], ordering: str) -> tuple[list[int], float]:
    points = [(s.x, s.y) for s in stops]
    order = order_stops(points) if ordering == "ortools" else list(range(len(stops)))
    return order, path_length(points, order)


def build_round(session: Session, *, actor: Actor, data: RoundBuild) -> ReadingRound:
    """Build the round: the selected usage points with a meter fitted on the planned day
    (default: the period's first day), not already in another open round of the period,
    in walking order, each with its expected range; assigned at once when a technician is
    named."""
    period = month_start(data.period_start)
    agency_id = own_agency(session, actor, data.agency_id)
    taken = repository.usage_points_in_open_rounds(session, period)
    stops = [s for s in _selected(session, actor, data) if s.usage_point_id not in taken]
    at = _noon(data.planned_date or period)
    expected = meters.expected_reads(
        session, usage_point_ids=[s.usage_point_id for s in stops], at=at
    )
    stops = [s for s in stops if s.usage_point_id in expected]
    if not stops:
        raise RoundEmptyError("the selection holds no usage point with a meter left to read")
    order, length = _order(stops, data.ordering)
    selection = data.model_dump(
        mode="json",
        include={"by", "cycle_code", "transformer_code", "feeder_code", "polygon", "planned_date"},
        exclude_none=True,
    )
    code = f"RR-{period:%Y%m}-{session.scalar(select(ROUND_CODE_SEQ.next_value())):05d}"
    reading_round = ReadingRound(
        code=code,
        name=data.name or code,
        period_start=period,
        agency_id=agency_id,
        status=RoundStatus.DRAFT.value,
        selection=selection,
        route_version=1,
        route_length_m=round(length, 1),
        ordering=data.ordering,
    )
    session.add(reading_round)
    session.flush()
    for sequence, index in enumerate(order, start=1):
        stop = stops[index]
        read = expected[stop.usage_point_id]
        session.add(
            RoundItem(
                round_id=reading_round.id,
                usage_point_id=stop.usage_point_id,
                sequence=sequence,
                meter_id=read.meter_id,
                meter_serial=read.meter_serial,
                expected={c: e.as_json() for c, e in read.registers.items()},
                lon=stop.lon,
                lat=stop.lat,
                access_notes=stop.access_notes,
            )
        )
    session.flush()
    if data.technician_id is not None:
        assign_round(
            session, actor=actor, round_id=reading_round.id, technician_id=data.technician_id
        )
    return reading_round


def assign_round(
    session: Session, *, actor: Actor, round_id: int, technician_id: int | None
) -> ReadingRound:
    """Give the round's stops not read yet (pending or skipped: a skipped stop may still be
    read) to a reader (None: take them back). The route version grows; the previous
    reader's device is told to drop them."""
    reading_round = _open_round(session, actor, round_id)
    if technician_id is not None:
        repository.get_technician(session, actor, technician_id)
    reading_round.technician_id = technician_id
    reading_round.status = (RoundStatus.ASSIGNED if technician_id else RoundStatus.DRAFT).value
    reading_round.route_version += 1
    for item in repository.round_items(session, round_id):
        if item.status != RoundItemStatus.READ:
            item.technician_id = technician_id
    session.flush()
    return reading_round


def reorder_round(
    session: Session, *, actor: Actor, round_id: int, ordering: str = "ortools"
) -> ReadingRound:
    """Order the stops again (after stops were added or the network moved): a new route
    version, every stop's new sequence sent to the reader."""
    reading_round = _open_round(session, actor, round_id)
    items = repository.round_items(session, round_id)
    metric = func.ST_Transform(
        func.ST_SetSRID(func.ST_MakePoint(RoundItem.lon, RoundItem.lat), 4326), projected_srid()
    )
    xy = {
        key: (x, y)
        for key, x, y in session.execute(
            select(RoundItem.id, func.ST_X(metric), func.ST_Y(metric)).where(
                RoundItem.round_id == round_id
            )
        )
    }
    codes = repository.usage_point_codes(session, [i.usage_point_id for i in items])
    if ordering == "code":  # else: the current walking order, as stored
        items.sort(key=lambda i: codes[i.usage_point_id])
    stops = [
        _Stop(i.usage_point_id, codes[i.usage_point_id], i.lon, i.lat, *xy[i.id], i.access_notes)
        for i in items
    ]
    order, length = _order(stops, ordering)
    for sequence, index in enumerate(order, start=1):
        items[index].sequence = sequence
    reading_round.route_version += 1
    reading_round.route_length_m = round(length, 1)
    reading_round.ordering = ordering
    session.flush()
    return reading_round


def close_round(session: Session, *, actor: Actor, round_id: int) -> ReadingRound:
    """End the round: stops not read stay unread and leave the reader's device."""
    reading_round = _open_round(session, actor, round_id)
    reading_round.status = RoundStatus.CLOSED.value
    reading_round.route_version += 1
    for item in repository.round_items(session, round_id):
        if item.status != RoundItemStatus.READ:
            item.technician_id = None
    session.flush()
    return reading_round


def _open_round(session: Session, actor: Actor, round_id: int) -> ReadingRound:
    reading_round = repository.get_round(session, actor, round_id, lock=True)
    if reading_round.status == RoundStatus.CLOSED:
        raise RoundClosedError(f"round {reading_round.code} is closed")
    return reading_round


def _item_for_visit(session: Session, actor: Actor, round_item_id: int) -> RoundItem:
    item = repository.get_round_item(session, actor, round_item_id, lock=True)
    reading_round = session.get(ReadingRound, item.round_id)
    assert reading_round is not None
    if reading_round.status == RoundStatus.CLOSED:
        raise RoundClosedError(f"round {reading_round.code} is closed")
    technician = repository.technician_of_user(session, actor.user_id)
    if (
        technician is not None
        and item.technician_id is not None
        and technician.id != item.technician_id
        and not actor.has_scope("field:write")
    ):
        raise RoundItemNotYoursError(f"stop {item.id} belongs to another reader's round")
    if item.status == RoundItemStatus.READ:
        raise RoundItemDoneError(f"stop {item.id} was already read", extra={"status": item.status})
    return item


@dataclass(frozen=True)
class RoundReadResult:
    """A stop read: the stop, the reads stored, and the re-read order when implausible."""

    item: RoundItem
    reading_ids: list[int]
    reading_status: str
    reason_codes: list[str]
    re_read: WorkOrder | None


def record_round_reading(
    session: Session, *, actor: Actor, round_item_id: int, data: RoundReadingRequest
) -> RoundReadResult:
    """Store the reader's values for a stop (pending or skipped before) through the meter
    domain's validation; an implausible value (``field.reads.IMPLAUSIBLE``) creates one
    re-read order for the stop. Captured time and GPS are the device's."""
    item = _item_for_visit(session, actor, round_item_id)
    if not item.meter_serial:
        raise RoundItemDoneError(f"stop {item.id} has no meter to read")
    reads = store_reads(
        session,
        actor=actor,
        meter_serial=item.meter_serial,
        values=data.values,
        read_at=data.read_at,
        gps=data.gps,
        photo_sha256=data.photo_sha256,
        quality=data.quality,
    )
    technician = repository.technician_of_user(session, actor.user_id)
    item.status = RoundItemStatus.READ.value
    item.skip_code = None
    item.note = data.note
    item.visited_at = data.read_at
    item.visited_by = technician.id if technician else item.technician_id
    item.reading_ids = reads.ids
    item.reading_status = reads.worst_status
    if data.gps is not None:
        item.gps_lon, item.gps_lat, item.gps_accuracy_m = (
            data.gps.lon,
            data.gps.lat,
            data.gps.accuracy_m,
        )
    session.flush()
    re_read = None
    codes = reads.implausible_codes
    if codes:
        re_read = create_work_order(
            session,
            actor=actor,
            data=WorkOrderCreate(
                kind=WorkOrderKind.RE_READ,
                usage_point_id=item.usage_point_id,
                priority=2,
                reason="implausible read: " + ", ".join(codes),
                instructions={
                    "reason_codes": codes,
                    "read_value": {str(k): str(v) for k, v in data.values.items()},
                },
                source_key=f"re_read:round_item:{item.id}",
            ),
            round_item_id=item.id,
        )
        emit(
            session,
            ImplausibleReadTaken(
                round_item_id=item.id,
                usage_point_id=item.usage_point_id,
                reason_codes=codes,
                re_read_work_order_id=re_read.id,
            ),
        )
    return RoundReadResult(item, reads.ids, reads.worst_status, codes, re_read)


def skip_round_item(
    session: Session, *, actor: Actor, round_item_id: int, data: SkipRequest
) -> RoundItem:
    """The reader could not read the stop: the skip code says why (no access, dog ...).
    A skipped stop may still be read later in the round."""
    item = _item_for_visit(session, actor, round_item_id)
    technician = repository.technician_of_user(session, actor.user_id)
    item.status = RoundItemStatus.SKIPPED.value
    item.skip_code = data.code.value
    item.note = data.note
    item.visited_at = data.at
    item.visited_by = technician.id if technician else item.technician_id
    if data.gps is not None:
        item.gps_lon, item.gps_lat, item.gps_accuracy_m = (
            data.gps.lon,
            data.gps.lat,
            data.gps.accuracy_m,
        )
    session.flush()
    return item


def round_progress(session: Session, *, actor: Actor, round_id: int) -> dict[str, Any]:
    """Read / skipped / pending counts of a round, in total and per reader who visited."""
    reading_round = repository.get_round(session, actor, round_id)
    rows = session.execute(
        select(RoundItem.status, RoundItem.visited_by, func.count())
        .where(RoundItem.round_id == reading_round.id)
        .group_by(RoundItem.status, RoundItem.visited_by)
    ).all()
    totals = {s.value: 0 for s in RoundItemStatus}
    readers: dict[int, dict[str, int]] = {}
    for status, reader, count in rows:
        totals[status] += count
        if reader is not None:
            readers.setdefault(reader, {s.value: 0 for s in RoundItemStatus})[status] += count
    return {
        "round_id": reading_round.id,
        "total": sum(totals.values()),
        **totals,
        "by_reader": [{"technician_id": t, **c} for t, c in sorted(readers.items())],
    }
