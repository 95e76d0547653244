"""Queries of the field domain. Every one filters with the one territory rule
(``core.territory.visible``; each model states how it is placed in ``field.models``): a
record outside the caller's territory answers 404 as if it did not exist."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.auth.models import User
from core.context import Actor
from core.errors import EntityNotFoundError
from core.pages import paginate
from core.territory import visible
from customers.models import ServiceLocation, UsagePoint
from field.errors import (
    RoundItemNotFoundError,
    RoundNotFoundError,
    SealNotFoundError,
    TeamNotFoundError,
    TechnicianNotFoundError,
    WorkOrderNotFoundError,
)
from field.models import (
    FieldTeam,
    ReadingCycle,
    ReadingCycleMember,
    ReadingRound,
    RoundItem,
    Seal,
    SealBatch,
    SealEvent,
    Technician,
    WorkOrder,
    WorkOrderTransition,
)
from gis.models import Feeder, PowerTransformer, ServicePoint

M = TypeVar("M")


def _one(
    session: Session,
    actor: Actor,
    model: type[M],
    key: int,
    error: type[EntityNotFoundError],
    noun: str,
    *,
    lock: bool = False,
) -> M:
    query = select(model).where(model.id == key, visible(actor, model))  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update(of=model)
    found = session.scalars(query).one_or_none()
    if found is None:
        raise error(f"no {noun} {key}")
    return found


def get_team(session: Session, actor: Actor, team_id: int) -> FieldTeam:
    return _one(session, actor, FieldTeam, team_id, TeamNotFoundError, "team")


def get_technician(session: Session, actor: Actor, technician_id: int) -> Technician:
    return _one(session, actor, Technician, technician_id, TechnicianNotFoundError, "technician")


def technician_of_user(session: Session, user_id: int | None) -> Technician | None:
    if user_id is None:
        return None
    return session.scalars(select(Technician).where(Technician.user_id == user_id)).one_or_none()


def user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_round(session: Session, actor: Actor, round_id: int, *, lock: bool = False) -> ReadingRound:
    return _one(session, actor, ReadingRound, round_id, RoundNotFoundError, "round", lock=lock)


def get_round_item(
    session: Session, actor: Actor, item_id: int, *, lock: bool = False
) -> RoundItem:
    return _one(session, actor, RoundItem, item_id, RoundItemNotFoundError, "round item", lock=lock)


def get_work_order(
    session: Session, actor: Actor, work_order_id: int, *, lock: bool = False
) -> WorkOrder:
    return _one(
        session, actor, WorkOrder, work_order_id, WorkOrderNotFoundError, "work order", lock=lock
    )


def work_order_by_source(session: Session, source_key: str) -> WorkOrder | None:
    return session.scalars(select(WorkOrder).where(WorkOrder.source_key == source_key)).first()


def seal_by_number(
    session: Session, actor: Actor, number: str, *, lock: bool = False
) -> Seal | None:
    query = select(Seal).where(Seal.number == number, visible(actor, Seal))
    if lock:
        query = query.with_for_update(of=Seal)
    return session.scalars(query).one_or_none()


def require_seal(session: Session, actor: Actor, number: str, *, lock: bool = False) -> Seal:
    seal = seal_by_number(session, actor, number, lock=lock)
    if seal is None:
        raise SealNotFoundError(f"no seal {number} in the inventory")
    return seal


def seals_applied_on(session: Session, work_order_id: int) -> list[str]:
    """Numbers of the seals applied on a work order's visit."""
    return list(
        session.scalars(
            select(SealEvent.seal_number)
            .where(SealEvent.work_order_id == work_order_id, SealEvent.event == "apply")
            .order_by(SealEvent.id)
        )
    )


def transformer_id(session: Session, code: str) -> int | None:
    return session.scalar(select(PowerTransformer.id).where(PowerTransformer.code == code))


def feeder_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Feeder.id).where(Feeder.code == code))


def usage_point_query(actor: Actor) -> Select[Any]:
    """Usage points the actor sees with their premises' point (EPSG:4326) and code."""
    return (
        select(
            UsagePoint.id,
            UsagePoint.code,
            func.ST_X(ServiceLocation.geom).label("lon"),
            func.ST_Y(ServiceLocation.geom).label("lat"),
            ServiceLocation.landmark,
            ServiceLocation.address_line,
        )
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .outerjoin(ServicePoint, ServicePoint.id == ServiceLocation.service_point_id)
        .where(visible(actor, UsagePoint))
    )


def usage_points_in_open_rounds(session: Session, period_start: date) -> set[int]:
    rows = session.scalars(
        select(RoundItem.usage_point_id)
        .join(ReadingRound, ReadingRound.id == RoundItem.round_id)
        .where(ReadingRound.period_start == period_start, ReadingRound.status != "closed")
    )
    return set(rows)


def usage_point_codes(session: Session, usage_point_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(UsagePoint.id, UsagePoint.code).where(UsagePoint.id.in_(usage_point_ids))
    )
    return {key: code for key, code in rows}


def round_items(session: Session, round_id: int) -> list[RoundItem]:
    return list(
        session.scalars(
            select(RoundItem).where(RoundItem.round_id == round_id).order_by(RoundItem.sequence)
        )
    )


def rounds_page(
    session: Session, actor: Actor, *, period_start: date | None, offset: int, limit: int
) -> tuple[list[ReadingRound], int]:
    query = select(ReadingRound).where(visible(actor, ReadingRound))
    if period_start is not None:
        query = query.where(ReadingRound.period_start == period_start)
    return paginate(session, query.order_by(ReadingRound.id.desc()), offset=offset, limit=limit)


def work_orders_page(
    session: Session,
    actor: Actor,
    *,
    status: str | None,
    kind: str | None,
    technician_id: int | None,
    offset: int,
    limit: int,
) -> tuple[list[WorkOrder], int]:
    query = select(WorkOrder).where(visible(actor, WorkOrder))
    if status:
        query = query.where(WorkOrder.status == status)
    if kind:
        query = query.where(WorkOrder.kind == kind)
    if technician_id:
        query = query.where(WorkOrder.technician_id == technician_id)
    return paginate(session, query.order_by(WorkOrder.id.desc()), offset=offset, limit=limit)


def work_order_history(session: Session, work_order_id: int) -> list[WorkOrderTransition]:
    return list(
        session.scalars(
            select(WorkOrderTransition)
            .where(WorkOrderTransition.work_order_id == work_order_id)
            .order_by(WorkOrderTransition.id)
        )
    )


def teams(session: Session, actor: Actor) -> list[FieldTeam]:
    return list(
        session.scalars(select(FieldTeam).where(visible(actor, FieldTeam)).order_by(FieldTeam.code))
    )


def technicians(session: Session, actor: Actor) -> list[Technician]:
    return list(
        session.scalars(
            select(Technician).where(visible(actor, Technician)).order_by(Technician.code)
        )
    )


def cycles(session: Session, actor: Actor) -> list[tuple[ReadingCycle, int]]:
    """The cycles the actor sees, with how many usage points each holds."""
    members = (
        select(ReadingCycleMember.cycle_id, func.count().label("n"))
        .group_by(ReadingCycleMember.cycle_id)
        .subquery()
    )
    rows = session.execute(
        select(ReadingCycle, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.cycle_id == ReadingCycle.id)
        .where(visible(actor, ReadingCycle))
        .order_by(ReadingCycle.code)
    )
    return [(cycle, int(n)) for cycle, n in rows]


def seal_batches(session: Session, actor: Actor) -> list[SealBatch]:
    return list(
        session.scalars(
            select(SealBatch).where(visible(actor, SealBatch)).order_by(SealBatch.id.desc())
        )
    )


def seal_stock(session: Session, actor: Actor) -> list[tuple[int, str, int]]:
    """(batch id, status, count) of the seals the actor sees."""
    rows = session.execute(
        select(Seal.batch_id, Seal.status, func.count())
        .where(visible(actor, Seal))
        .group_by(Seal.batch_id, Seal.status)
        .order_by(Seal.batch_id, Seal.status)
    )
    return [(b, s, int(n)) for b, s, n in rows]


def seal_events(
    session: Session, actor: Actor, *, seal_id: int | None = None, limit: int = 100
) -> list[SealEvent]:
    query = select(SealEvent).where(visible(actor, SealEvent))
    if seal_id is not None:
        query = query.where(SealEvent.seal_id == seal_id)
    return list(session.scalars(query.order_by(SealEvent.id.desc()).limit(limit)))
