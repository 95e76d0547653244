"""Seals: received into an agency's store by batch (a prefix and a number range), issued
to technicians, applied on a visit (position, kind), verified, broken, removed. Every
event at a meter names its visit (a work order or a round item: ``Visit``). A number is
applied at most once, ever: the service says so, and the database refuses a second
``apply`` event for the same number even in a race (``uq_field_seal_event_applied_once``).
A seal found broken, missing or foreign emits ``SealAnomalyFound`` for revenue protection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.context import Actor
from core.flush import by_constraint, flush_guarded
from core.outbox import emit
from field import repository
from field.enums import SealEventKind, SealStatus
from field.errors import (
    SealAlreadyAppliedError,
    SealBatchOverlapError,
    SealStateInvalidError,
    VisitRequiredError,
)
from field.events import SealAnomalyFound
from field.models import RoundItem, Seal, SealBatch, SealEvent, WorkOrder
from field.organisation import own_agency
from field.schemas import Gps, SealAnomaly, SealApply, SealBatchCreate, SealIssue, SealVisitEvent
from field.schemas import Visit as VisitRef


@dataclass(frozen=True)
class _Visit:
    work_order_id: int | None
    round_item_id: int | None
    usage_point_id: int | None
    meter_id: int | None
    technician_id: int | None


def _visit(session: Session, actor: Actor, visit: VisitRef) -> _Visit:
    """The visit the event happens on, seen by the actor (404 otherwise)."""
    technician = repository.technician_of_user(session, actor.user_id)
    tech_id = technician.id if technician else None
    if visit.work_order_id is not None:
        order: WorkOrder = repository.get_work_order(session, actor, visit.work_order_id)
        return _Visit(
            order.id, None, order.usage_point_id, order.meter_id, tech_id or order.technician_id
        )
    if visit.round_item_id is not None:
        item: RoundItem = repository.get_round_item(session, actor, visit.round_item_id)
        return _Visit(
            None, item.id, item.usage_point_id, item.meter_id, tech_id or item.technician_id
        )
    raise VisitRequiredError("a seal event at a meter names its visit")


def _event(
    session: Session,
    actor: Actor,
    kind: SealEventKind,
    number: str,
    at: datetime,
    *,
    seal: Seal | None = None,
    visit: _Visit | None = None,
    technician_id: int | None = None,
    position: str | None = None,
    note: str | None = None,
    gps: Gps | None = None,
) -> SealEvent:
    event = SealEvent(
        seal_id=seal.id if seal else None,
        seal_number=number,
        event=kind.value,
        technician_id=technician_id
        if technician_id is not None
        else (visit.technician_id if visit else None),
        work_order_id=visit.work_order_id if visit else None,
        round_item_id=visit.round_item_id if visit else None,
        usage_point_id=visit.usage_point_id if visit else None,
        meter_id=visit.meter_id if visit else None,
        position=position,
        kind=seal.kind if seal else None,
        note=note,
        at=at,
        gps_lon=gps.lon if gps else None,
        gps_lat=gps.lat if gps else None,
        actor_id=actor.user_id,
    )
    session.add(event)
    return event


def receive_seal_batch(session: Session, *, actor: Actor, data: SealBatchCreate) -> SealBatch:
    """A batch of seals into the store: one seal per number of the range, in stock.
    Refused whole when any number already exists (409 seal_numbers_taken)."""
    batch = SealBatch(
        code=data.code,
        kind=data.kind.value,
        prefix=data.prefix,
        first_number=data.first_number,
        last_number=data.last_number,
        digits=data.digits,
        agency_id=own_agency(session, actor, data.agency_id),
        received_at=data.received_at,
    )

    def add() -> None:
        session.add(batch)
        session.flush()
        # One set-based statement, audited as one bulk job: the batch row (audited as
        # usual) says which numbers it brought, so a row per seal would add nothing.
        declare_bulk_job(session, f"seal_batch:{batch.code}")
        session.execute(
            text(
                "INSERT INTO field_seal (number, batch_id, kind, status, agency_id)"
                " SELECT :prefix || lpad(n::text, :digits, '0'), :batch, :kind, 'in_stock',"
                " :agency FROM generate_series(CAST(:first AS bigint), :last) AS n"
            ),
            {
                "prefix": data.prefix,
                "digits": data.digits,
                "batch": batch.id,
                "kind": batch.kind,
                "agency": batch.agency_id,
                "first": data.first_number,
                "last": data.last_number,
            },
        )
        declare_bulk_job(session, "")  # what follows in the transaction is audited per row

    taken = lambda: SealBatchOverlapError(f"numbers of batch {data.code} already exist")  # noqa: E731
    flush_guarded(
        session,
        by_constraint({"uq_field_seal_number": taken, "uq_field_seal_batch_code": taken}),
        apply=add,
    )
    return batch


def issue_seals(session: Session, *, actor: Actor, data: SealIssue) -> list[Seal]:
    """Give seals from the store to a technician (all or none)."""
    technician = repository.get_technician(session, actor, data.technician_id)
    seals = [
        repository.require_seal(session, actor, n, lock=True) for n in dict.fromkeys(data.numbers)
    ]
    for seal in seals:
        if seal.status != SealStatus.IN_STOCK:
            raise SealStateInvalidError(
                f"seal {seal.number} is {seal.status}, not in stock", extra={"status": seal.status}
            )
    for seal in seals:
        seal.status = SealStatus.ISSUED.value
        seal.technician_id = technician.id
        _event(
            session,
            actor,
            SealEventKind.ISSUE,
            seal.number,
            data.at,
            seal=seal,
            technician_id=technician.id,
        )
    session.flush()
    return seals


def apply_seal(session: Session, *, actor: Actor, data: SealApply) -> SealEvent:
    """Fit a seal from a technician's bag on the visit's meter (or cabinet ...)."""
    visit = _visit(session, actor, data.visit)
    seal = repository.require_seal(session, actor, data.number, lock=True)
    if seal.status in (SealStatus.APPLIED, SealStatus.BROKEN, SealStatus.REMOVED):
        raise SealAlreadyAppliedError(f"seal {seal.number} was already applied ({seal.status})")
    if seal.status != SealStatus.ISSUED:
        raise SealStateInvalidError(
            f"seal {seal.number} is {seal.status}: issue it to a technician first",
            extra={"status": seal.status},
        )
    holder = seal.technician_id
    event: SealEvent | None = None

    def apply() -> None:
        nonlocal event
        event = _event(
            session,
            actor,
            SealEventKind.APPLY,
            seal.number,
            data.at,
            seal=seal,
            visit=visit,
            technician_id=visit.technician_id or holder,
            position=data.position.value,
            gps=data.gps,
        )
        seal.status = SealStatus.APPLIED.value
        seal.usage_point_id = visit.usage_point_id
        seal.meter_id = visit.meter_id
        seal.position = data.position.value
        seal.applied_at = data.at
        seal.technician_id = None  # out of the bag: the device drops it from its stock

    flush_guarded(
        session,
        by_constraint(
            {
                "uq_field_seal_event_applied_once": lambda: SealAlreadyAppliedError(
                    f"seal {data.number} was already applied"
                )
            }
        ),
        apply=apply,
    )
    assert event is not None
    return event


def _applied_here(session: Session, actor: Actor, number: str, visit: _Visit) -> Seal:
    seal = repository.require_seal(session, actor, number, lock=True)
    if seal.status != SealStatus.APPLIED:
        raise SealStateInvalidError(
            f"seal {number} is {seal.status}, not applied", extra={"status": seal.status}
        )
    if visit.usage_point_id is not None and seal.usage_point_id != visit.usage_point_id:
        raise SealStateInvalidError(
            f"seal {number} is recorded at usage point {seal.usage_point_id}, not this one"
        )
    return seal


def verify_seal(session: Session, *, actor: Actor, data: SealVisitEvent) -> SealEvent:
    """The seal is there and intact."""
    visit = _visit(session, actor, data.visit)
    seal = _applied_here(session, actor, data.number, visit)
    event = _event(
        session,
        actor,
        SealEventKind.VERIFY,
        seal.number,
        data.at,
        seal=seal,
        visit=visit,
        position=seal.position,
        note=data.note,
        gps=data.gps,
    )
    session.flush()
    return event


def break_seal(session: Session, *, actor: Actor, data: SealVisitEvent) -> SealEvent:
    """Broken on purpose to work on the meter (a new seal is applied afterwards)."""
    return _end_seal(session, actor, data, SealEventKind.BREAK, SealStatus.BROKEN)


def remove_seal(session: Session, *, actor: Actor, data: SealVisitEvent) -> SealEvent:
    """Taken off whole (a meter removed with its seal)."""
    return _end_seal(session, actor, data, SealEventKind.REMOVE, SealStatus.REMOVED)


def _end_seal(
    session: Session, actor: Actor, data: SealVisitEvent, kind: SealEventKind, status: SealStatus
) -> SealEvent:
    visit = _visit(session, actor, data.visit)
    seal = _applied_here(session, actor, data.number, visit)
    event = _event(
        session,
        actor,
        kind,
        seal.number,
        data.at,
        seal=seal,
        visit=visit,
        position=seal.position,
        note=data.note,
        gps=data.gps,
    )
    seal.status = status.value
    session.flush()
    return event


def report_seal_anomaly(session: Session, *, actor: Actor, data: SealAnomaly) -> SealEvent:
    """A seal found broken or missing (the recorded one: its status follows), or a foreign
    seal (not ours, or ours but recorded elsewhere): recorded on the visit and sent to
    revenue protection as ``SealAnomalyFound``."""
    visit = _visit(session, actor, data.visit)
    seal = (
        repository.seal_by_number(session, actor, data.number, lock=True) if data.number else None
    )
    kind = SealEventKind(data.anomaly)
    if seal is not None and kind != SealEventKind.FOUND_FOREIGN:
        if seal.status != SealStatus.APPLIED or seal.usage_point_id != visit.usage_point_id:
            raise SealStateInvalidError(
                f"seal {seal.number} is not recorded as applied here: report it as foreign"
            )
        seal.status = (
            SealStatus.BROKEN if kind == SealEventKind.FOUND_BROKEN else SealStatus.LOST
        ).value
    event = _event(
        session,
        actor,
        kind,
        data.number or "",
        data.at,
        seal=seal,
        visit=visit,
        position=data.position.value if data.position else (seal.position if seal else None),
        note=data.note,
        gps=data.gps,
    )
    session.flush()
    emit(
        session,
        SealAnomalyFound(
            seal_event_id=event.id,
            anomaly=kind.value,
            seal_number=event.seal_number,
            seal_id=event.seal_id,
            usage_point_id=event.usage_point_id,
            meter_id=event.meter_id,
            work_order_id=event.work_order_id,
            round_item_id=event.round_item_id,
            technician_id=event.technician_id,
            at=data.at,
        ),
    )
    return event


def seals_at(session: Session, *, actor: Actor, usage_point_id: int) -> list[Seal]:
    """The seals recorded as applied at a usage point (what a visitor should find)."""
    from core.territory import visible

    return list(
        session.scalars(
            select(Seal).where(
                Seal.usage_point_id == usage_point_id,
                Seal.status == SealStatus.APPLIED,
                visible(actor, Seal),
            )
        )
    )
