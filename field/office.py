"""What the office pages show: round progress on the map (per stop, per reader), the
work-order board, the seal inventory. Read-only queries under the territory rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.context import Actor
from core.territory import visible
from customers.models import UsagePoint
from field.enums import SUSPICIOUS_SEAL_EVENTS, RoundItemStatus, WorkOrderStatus
from field.models import ReadingRound, RoundItem, Seal, SealBatch, SealEvent, Technician, WorkOrder


def round_periods(session: Session, actor: Actor) -> list[date]:
    """The periods that have rounds the actor sees, latest first."""
    return list(
        session.scalars(
            select(ReadingRound.period_start)
            .where(visible(actor, ReadingRound))
            .distinct()
            .order_by(ReadingRound.period_start.desc())
        )
    )


def rounds_of(session: Session, actor: Actor, period: date) -> list[dict[str, Any]]:
    """The period's rounds with their reader and progress counts."""
    reader = aliased(Technician)
    counts = (
        select(
            RoundItem.round_id,
            func.count().filter(RoundItem.status == RoundItemStatus.READ).label("read"),
            func.count().filter(RoundItem.status == RoundItemStatus.SKIPPED).label("skipped"),
            func.count().filter(RoundItem.status == RoundItemStatus.PENDING).label("pending"),
        )
        .group_by(RoundItem.round_id)
        .subquery()
    )
    rows = session.execute(
        select(ReadingRound, reader.code, counts.c.read, counts.c.skipped, counts.c.pending)
        .outerjoin(reader, reader.id == ReadingRound.technician_id)
        .outerjoin(counts, counts.c.round_id == ReadingRound.id)
        .where(visible(actor, ReadingRound), ReadingRound.period_start == period)
        .order_by(ReadingRound.code)
    ).all()
    return [
        {
            "round": r,
            "reader": code,
            "read": read or 0,
            "skipped": skipped or 0,
            "pending": pending or 0,
        }
        for r, code, read, skipped, pending in rows
    ]


def stops_geojson(
    session: Session, actor: Actor, *, period: date, round_id: int | None = None
) -> dict[str, Any]:
    """The period's stops as GeoJSON points (EPSG:4326): status, skip code, sequence,
    round and reader (the one who visited, else the one assigned)."""
    reader = aliased(Technician)
    query = (
        select(RoundItem, ReadingRound.code, UsagePoint.code, reader.code)
        .join(ReadingRound, ReadingRound.id == RoundItem.round_id)
        .join(UsagePoint, UsagePoint.id == RoundItem.usage_point_id)
        .outerjoin(
            reader, reader.id == func.coalesce(RoundItem.visited_by, RoundItem.technician_id)
        )
        .where(
            ReadingRound.period_start == period,
            visible(actor, ReadingRound),
            visible(actor, RoundItem),
            RoundItem.lon.is_not(None),
        )
        .order_by(RoundItem.round_id, RoundItem.sequence)
    )
    if round_id is not None:
        query = query.where(RoundItem.round_id == round_id)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [item.lon, item.lat]},
            "properties": {
                "id": item.id,
                "round": round_code,
                "round_id": item.round_id,
                "sequence": item.sequence,
                "usage_point": up_code,
                "meter_serial": item.meter_serial,
                "status": item.status,
                "skip_code": item.skip_code,
                "reading_status": item.reading_status,
                "reader": reader_code,
                "visited_at": item.visited_at.isoformat() if item.visited_at else None,
            },
        }
        for item, round_code, up_code, reader_code in session.execute(query)
    ]
    return {"type": "FeatureCollection", "features": features}


def progress_by_reader(session: Session, actor: Actor, period: date) -> list[dict[str, Any]]:
    """Per reader (the one who visited, else the one assigned): read / skipped / pending."""
    reader = aliased(Technician)
    who = func.coalesce(RoundItem.visited_by, RoundItem.technician_id)
    rows = session.execute(
        select(reader.code, reader.full_name, RoundItem.status, func.count())
        .join(ReadingRound, ReadingRound.id == RoundItem.round_id)
        .outerjoin(reader, reader.id == who)
        .where(ReadingRound.period_start == period, visible(actor, ReadingRound))
        .group_by(reader.code, reader.full_name, RoundItem.status)
    ).all()
    readers: dict[str, dict[str, Any]] = {}
    for code, name, status, count in rows:
        key = code or "(unassigned)"
        entry = readers.setdefault(
            key, {"reader": key, "name": name or "", **{s.value: 0 for s in RoundItemStatus}}
        )
        entry[status] += count
    return sorted(readers.values(), key=lambda r: r["reader"])


BOARD_COLUMNS = (
    WorkOrderStatus.CREATED,
    WorkOrderStatus.PLANNED,
    WorkOrderStatus.ASSIGNED,
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.COMPLETED,
    WorkOrderStatus.FAILED,
)


@dataclass
class BoardColumn:
    status: str
    total: int
    cards: list[dict[str, Any]]


def work_order_board(
    session: Session, actor: Actor, *, kind: str | None, per_column: int = 100
) -> list[BoardColumn]:
    """Orders the actor sees, one column per status (most urgent, then oldest, first;
    the finished columns newest first)."""
    columns = []
    for status in BOARD_COLUMNS:
        base = select(WorkOrder).where(visible(actor, WorkOrder), WorkOrder.status == status)
        if kind:
            base = base.where(WorkOrder.kind == kind)
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        finished = status in (WorkOrderStatus.COMPLETED, WorkOrderStatus.FAILED)
        order_by = (
            (WorkOrder.finished_at.desc().nulls_last(),)
            if finished
            else (WorkOrder.priority, WorkOrder.id)
        )
        rows = session.execute(
            base.with_only_columns(WorkOrder, UsagePoint.code, Technician.code)
            .outerjoin(UsagePoint, UsagePoint.id == WorkOrder.usage_point_id)
            .outerjoin(Technician, Technician.id == WorkOrder.technician_id)
            .order_by(*order_by)
            .limit(per_column)
        ).all()
        cards = [{"order": o, "usage_point": up, "technician": t} for o, up, t in rows]
        columns.append(BoardColumn(status.value, int(total), cards))
    return columns


def seal_inventory(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Each batch the actor sees with its seals per status."""
    counts: dict[int, dict[str, int]] = {}
    for batch_id, status, count in session.execute(
        select(Seal.batch_id, Seal.status, func.count())
        .where(visible(actor, Seal))
        .group_by(Seal.batch_id, Seal.status)
    ):
        counts.setdefault(batch_id, {})[status] = int(count)
    batches = session.scalars(
        select(SealBatch).where(visible(actor, SealBatch)).order_by(SealBatch.received_at.desc())
    )
    return [{"batch": b, "stock": counts.get(b.id, {})} for b in batches]


def seals_held(session: Session, actor: Actor) -> list[tuple[str, int]]:
    """(technician code, seals in their bag) for the technicians the actor sees."""
    rows = session.execute(
        select(Technician.code, func.count(Seal.id))
        .join(Seal, Seal.technician_id == Technician.id)
        .where(visible(actor, Technician), Seal.status == "issued")
        .group_by(Technician.code)
        .order_by(Technician.code)
    )
    return [(code, int(n)) for code, n in rows]


def recent_seal_anomalies(session: Session, actor: Actor, limit: int = 50) -> list[SealEvent]:
    return list(
        session.scalars(
            select(SealEvent)
            .where(
                visible(actor, SealEvent),
                SealEvent.event.in_([e.value for e in SUSPICIOUS_SEAL_EVENTS]),
            )
            .order_by(SealEvent.at.desc())
            .limit(limit)
        )
    )
