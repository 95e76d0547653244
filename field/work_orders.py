"""Work orders: created (by the office, a contract process, an implausible read), planned,
assigned to a technician with the skill, started, then completed with an outcome, failed
with a code, or cancelled. Every step goes through ``field.machines.WORK_ORDER`` (history
in field_work_order_transition).

An outcome changes the records of the domain that owns them, through its service: a
replacement closes one installation and opens another (``meters.service.replace_meter``,
with end and start indexes), a cut / reduction / restoration sets the usage point's
connection state (``customers.service.set_connection_state``), a final read or re-read
stores the read (``meters.service.record_reading``). Each outcome emits its domain event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from core.outbox import emit
from core.periods import zone
from core.territory import require_visible
from customers import service as customers
from customers.enums import ConnectionState
from customers.models import UsagePoint
from field import repository
from field.enums import Skill, WorkOrderKind, WorkOrderStatus
from field.errors import (
    ReferenceUnknownError,
    SkillMissingError,
    TechnicianUnavailableError,
    WorkOrderNotYoursError,
    WorkOrderOutcomeInvalidError,
)
from field.events import (
    FinalReadingTaken,
    MeterReplaced,
    SupplyStateChanged,
    WorkOrderCompleted,
    WorkOrderFailed,
)
from field.machines import WORK_ORDER
from field.models import WORK_ORDER_NUMBER_SEQ, Technician, WorkOrder
from field.organisation import own_agency
from field.reads import store_reads
from field.schemas import (
    PAID_ON_SPOT,
    Gps,
    WorkOrderCreate,
    WorkOrderFailure,
    WorkOrderOutcome,
)
from meters import service as meters

# The skill a technician needs for each kind of work.
KIND_SKILL: dict[str, Skill] = {
    WorkOrderKind.INSTALL: Skill.INSTALLATION,
    WorkOrderKind.REMOVE: Skill.INSTALLATION,
    WorkOrderKind.REPLACE: Skill.INSTALLATION,
    WorkOrderKind.INSPECT: Skill.INSPECTION,
    WorkOrderKind.INVESTIGATE: Skill.INSPECTION,
    WorkOrderKind.SEAL: Skill.SEALING,
    WorkOrderKind.CUT: Skill.DISCONNECTION,
    WorkOrderKind.REDUCE_POWER: Skill.DISCONNECTION,
    WorkOrderKind.RESTORE: Skill.DISCONNECTION,
    WorkOrderKind.RE_READ: Skill.READING,
    WorkOrderKind.FINAL_READ: Skill.READING,
    WorkOrderKind.SURVEY: Skill.INSPECTION,
    WorkOrderKind.EXTEND_NETWORK: Skill.INSTALLATION,
    WorkOrderKind.CONNECT: Skill.INSTALLATION,
}
# Kinds that need the meter's index on completion.
NEEDS_INDEXES = {
    WorkOrderKind.REMOVE,
    WorkOrderKind.REPLACE,
    WorkOrderKind.RE_READ,
    WorkOrderKind.FINAL_READ,
}
SUPPLY_STATE = {
    WorkOrderKind.CUT: ConnectionState.DISCONNECTED,
    WorkOrderKind.REDUCE_POWER: ConnectionState.REDUCED,
    WorkOrderKind.RESTORE: ConnectionState.CONNECTED,
}


def _number(session: Session) -> str:
    return f"WO-{session.scalar(select(WORK_ORDER_NUMBER_SEQ.next_value())):08d}"


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone()).astimezone(UTC)


def _expected(session: Session, usage_point_id: int, at: datetime) -> dict[str, Any]:
    """Meter and expected registers of a usage point, for the technician's instructions."""
    found = meters.expected_reads(session, usage_point_ids=[usage_point_id], at=at)
    read = found.get(usage_point_id)
    if read is None:
        return {}
    return {
        "meter_id": read.meter_id,
        "meter_serial": read.meter_serial,
        "expected": {code: e.as_json() for code, e in read.registers.items()},
    }


def create_work_order(
    session: Session, *, actor: Actor, data: WorkOrderCreate, round_item_id: int | None = None
) -> WorkOrder:
    """A new order (status created). Idempotent on ``source_key``: asking again for the
    same thing returns the order already made. The usage point's meter, its previous
    read and expected range go into the instructions (what the handheld shows)."""
    if data.source_key:
        existing = repository.work_order_by_source(session, data.source_key)
        if existing is not None:
            return existing
    agency_id = data.agency_id
    meter_fields: dict[str, Any] = {}
    if data.usage_point_id is not None:
        require_visible(session, actor, UsagePoint, data.usage_point_id, "usage point")
        point = session.get(UsagePoint, data.usage_point_id)
        if point is None:
            raise ReferenceUnknownError(
                f"no usage point {data.usage_point_id}",
                errors=[FieldError("usage_point_id", "unknown usage point", "reference_unknown")],
            )
        at = _noon(data.planned_date) if data.planned_date else datetime.now(UTC)
        meter_fields = _expected(session, point.id, at)
        agency_id = agency_id if agency_id is not None else actor.agency_id
    elif data.kind not in (WorkOrderKind.INSPECT, WorkOrderKind.INVESTIGATE, WorkOrderKind.SURVEY):
        raise WorkOrderOutcomeInvalidError(
            f"a {data.kind.value} order needs a usage point",
            errors=[FieldError("usage_point_id", "required for this kind")],
        )
    else:
        agency_id = own_agency(session, actor, agency_id)
    instructions = {**meter_fields, **data.instructions}
    instructions.pop("meter_id", None)
    order = WorkOrder(
        number=_number(session),
        kind=data.kind.value,
        status=WorkOrderStatus.CREATED.value,
        usage_point_id=data.usage_point_id,
        meter_id=meter_fields.get("meter_id"),
        contract_id=data.contract_id,
        round_item_id=round_item_id,
        agency_id=agency_id,
        priority=data.priority,
        planned_date=data.planned_date,
        due_date=data.due_date,
        reason=data.reason,
        source_key=data.source_key,
        instructions=instructions,
    )
    session.add(order)
    session.flush()
    WORK_ORDER.record(session, actor, order, "create", None, order.status, reason=data.reason)
    session.flush()
    return order


def plan_work_order(
    session: Session,
    *,
    actor: Actor,
    work_order_id: int,
    planned_date: date,
    team_id: int | None = None,
    reason: str | None = None,
) -> WorkOrder:
    order = repository.get_work_order(session, actor, work_order_id, lock=True)
    if team_id is not None:
        repository.get_team(session, actor, team_id)
    WORK_ORDER.step(
        session, actor, order, "plan", reason=reason, details={"planned_date": str(planned_date)}
    )
    order.planned_date = planned_date
    order.team_id = team_id
    session.flush()
    return order


def assign_work_order(
    session: Session,
    *,
    actor: Actor,
    work_order_id: int,
    technician_id: int,
    reason: str | None = None,
) -> WorkOrder:
    """Give the order to an active technician holding the skill its kind needs and
    working on its planned day (again: to another one, whose device is told to drop
    it)."""
    order = repository.get_work_order(session, actor, work_order_id, lock=True)
    technician = repository.get_technician(session, actor, technician_id)
    skill = KIND_SKILL[WorkOrderKind(order.kind)]
    if skill.value not in technician.skills:
        raise SkillMissingError(
            f"technician {technician.code} lacks the skill {skill.value} for a {order.kind} order",
            extra={"skill": skill.value},
        )
    _require_available(technician, order.planned_date)
    WORK_ORDER.step(
        session, actor, order, "assign", reason=reason, details={"technician_id": technician.id}
    )
    order.technician_id = technician.id
    if order.team_id is None:
        order.team_id = technician.team_id
    session.flush()
    return order


def _require_available(technician: Technician, day: date | None) -> None:
    """An active technician, working on the planned day (ISO weekday) when there is one."""
    if not technician.active:
        raise TechnicianUnavailableError(f"technician {technician.code} is inactive")
    if day is not None and day.isoweekday() not in technician.working_days:
        raise TechnicianUnavailableError(
            f"technician {technician.code} does not work on {day:%A} {day.isoformat()}",
            extra={"working_days": list(technician.working_days)},
        )


def _check_executor(session: Session, actor: Actor, order: WorkOrder) -> Technician | None:
    """A technician executes only their own orders; office staff (field:write) any."""
    technician = repository.technician_of_user(session, actor.user_id)
    if (
        technician is not None
        and order.technician_id is not None
        and technician.id != order.technician_id
        and not actor.has_scope("field:write")
    ):
        raise WorkOrderNotYoursError(f"work order {order.number} is assigned to someone else")
    return technician


def start_work_order(
    session: Session, *, actor: Actor, work_order_id: int, at: datetime, gps: Gps | None = None
) -> WorkOrder:
    order = repository.get_work_order(session, actor, work_order_id, lock=True)
    _check_executor(session, actor, order)
    _start(session, actor, order, at, gps)
    session.flush()
    return order


def _start(session: Session, actor: Actor, order: WorkOrder, at: datetime, gps: Gps | None) -> None:
    details = {"gps": gps.model_dump() if gps else None}
    WORK_ORDER.step(session, actor, order, "start", details=details)
    order.started_at = at


def complete_work_order(
    session: Session, *, actor: Actor, work_order_id: int, outcome: WorkOrderOutcome
) -> WorkOrder:
    """Record what was done and change the owning records (see the module docstring).
    An assigned order is started on the way (the handheld may send only the outcome).
    Everything happens in the caller's transaction: a refused change leaves nothing."""
    order = repository.get_work_order(session, actor, work_order_id, lock=True)
    _check_executor(session, actor, order)
    kind = WorkOrderKind(order.kind)
    _require_outcome(kind, outcome)
    if order.status == WorkOrderStatus.ASSIGNED:
        _start(session, actor, order, outcome.completed_at, outcome.gps)
    if order.status != WorkOrderStatus.IN_PROGRESS:
        WORK_ORDER.fire(order, "complete")  # the 409 saying why, before any record moves
    effects = _apply_outcome(session, actor, order, kind, outcome)
    WORK_ORDER.step(session, actor, order, "complete", details=effects)
    order.outcome = {**outcome.model_dump(mode="json", exclude_none=True), **effects}
    order.finished_at = outcome.completed_at
    session.flush()
    emit(
        session,
        WorkOrderCompleted(
            work_order_id=order.id,
            number=order.number,
            kind=order.kind,
            usage_point_id=order.usage_point_id,
            contract_id=order.contract_id,
            completed_at=outcome.completed_at,
            outcome=order.outcome,
        ),
    )
    return order


def _require_outcome(kind: WorkOrderKind, outcome: WorkOrderOutcome) -> None:
    missing: list[FieldError] = []
    if kind in NEEDS_INDEXES and not outcome.indexes:
        missing.append(FieldError("indexes", f"a {kind.value} order needs the meter's index"))
    if kind in (WorkOrderKind.INSTALL, WorkOrderKind.REPLACE):
        if outcome.new_meter_id is None:
            missing.append(FieldError("new_meter_id", "the meter fitted"))
        if not outcome.new_start_indexes:
            missing.append(FieldError("new_start_indexes", "the fitted meter's start index"))
    on_spot = outcome.finding == PAID_ON_SPOT
    if on_spot and kind not in (WorkOrderKind.CUT, WorkOrderKind.REDUCE_POWER):
        missing.append(FieldError("finding", "only a cut or a power reduction is paid off"))
    if on_spot != (outcome.paid is not None):
        missing.append(FieldError("paid", "the payment goes with the finding paid_on_spot"))
    if missing:
        raise WorkOrderOutcomeInvalidError(
            f"the outcome of a {kind.value} order is incomplete", errors=missing
        )


def _indexes(values: dict[Any, Decimal] | None) -> dict[str, Decimal]:
    return {str(getattr(k, "value", k)): v for k, v in (values or {}).items()}


def _apply_outcome(
    session: Session, actor: Actor, order: WorkOrder, kind: WorkOrderKind, outcome: WorkOrderOutcome
) -> dict[str, Any]:
    """The owning domains' changes; what they produced (ids) for the order's outcome."""
    at = outcome.completed_at
    usage_point_id = order.usage_point_id
    serial = order.instructions.get("meter_serial")
    photo = outcome.photo_sha256[0] if outcome.photo_sha256 else None
    effects: dict[str, Any] = {}
    if kind == WorkOrderKind.SEAL:
        applied = repository.seals_applied_on(session, order.id)
        if not applied:
            raise WorkOrderOutcomeInvalidError(
                f"work order {order.number} is a sealing: apply the seal on it first",
                errors=[FieldError("seals", "no seal applied on this visit")],
            )
        effects["seals_applied"] = applied
    if kind in (WorkOrderKind.RE_READ, WorkOrderKind.FINAL_READ) or (
        kind in SUPPLY_STATE and outcome.indexes
    ):
        if not serial:
            raise WorkOrderOutcomeInvalidError(f"usage point {usage_point_id} has no meter to read")
        reads = store_reads(
            session,
            actor=actor,
            meter_serial=serial,
            values=_indexes(outcome.indexes),
            read_at=at,
            gps=outcome.gps,
            photo_sha256=photo,
        )
        effects["reading_ids"] = reads.ids
        effects["reading_status"] = reads.worst_status
        if kind == WorkOrderKind.FINAL_READ and order.contract_id is not None:
            emit(
                session,
                FinalReadingTaken(
                    contract_id=order.contract_id,
                    usage_point_id=usage_point_id or 0,
                    work_order_id=order.id,
                    read_at=at,
                    reading_ids=reads.ids,
                    indexes=_indexes(outcome.indexes),
                    process=order.instructions.get("process"),
                ),
            )
    if kind in SUPPLY_STATE and outcome.finding == PAID_ON_SPOT:
        effects["connection_state"] = "unchanged"  # paid at the door: the supply stays
    elif kind in SUPPLY_STATE:
        assert usage_point_id is not None
        state = SUPPLY_STATE[kind]
        customers.set_connection_state(session, usage_point_id=usage_point_id, state=state, at=at)
        effects["connection_state"] = state.value
        emit(
            session,
            SupplyStateChanged(
                usage_point_id=usage_point_id, work_order_id=order.id, state=state.value, at=at
            ),
        )
    elif kind == WorkOrderKind.REPLACE:
        assert usage_point_id is not None and outcome.new_meter_id is not None
        installation = meters.replace_meter(
            session,
            usage_point_id=usage_point_id,
            new_meter_id=outcome.new_meter_id,
            replaced_at=at,
            old_end_index=_indexes(outcome.indexes),
            new_start_index=_indexes(outcome.new_start_indexes),
            reason=f"work order {order.number}",
            actor=actor,
        )
        old_meter_id = order.meter_id or 0
        effects.update(installation_id=installation.id, old_meter_id=old_meter_id)
        order.meter_id = outcome.new_meter_id
        emit(
            session,
            MeterReplaced(
                usage_point_id=usage_point_id,
                work_order_id=order.id,
                old_meter_id=old_meter_id,
                new_meter_id=outcome.new_meter_id,
                installation_id=installation.id,
                at=at,
            ),
        )
    elif kind == WorkOrderKind.INSTALL:
        assert usage_point_id is not None and outcome.new_meter_id is not None
        installation = meters.install_meter(
            session,
            meter_id=outcome.new_meter_id,
            usage_point_id=usage_point_id,
            installed_at=at,
            start_index=_indexes(outcome.new_start_indexes),
            actor=actor,
        )
        effects["installation_id"] = installation.id
        order.meter_id = outcome.new_meter_id
    elif kind == WorkOrderKind.REMOVE:
        if order.meter_id is None:
            raise WorkOrderOutcomeInvalidError(
                f"usage point {usage_point_id} has no meter to remove"
            )
        installation = meters.remove_meter(
            session,
            actor=actor,
            meter_id=order.meter_id,
            removed_at=at,
            end_index=_indexes(outcome.indexes),
            reason=f"work order {order.number}",
        )
        effects["installation_id"] = installation.id
    return effects


def fail_work_order(
    session: Session, *, actor: Actor, work_order_id: int, failure: WorkOrderFailure
) -> WorkOrder:
    """The work could not be done (no access, refused ...): the order ends failed with
    its code; the office decides what next (a new order)."""
    order = repository.get_work_order(session, actor, work_order_id, lock=True)
    _check_executor(session, actor, order)
    details = {"note": failure.note, "gps": failure.gps.model_dump() if failure.gps else None}
    WORK_ORDER.step(session, actor, order, "fail", reason=failure.code.value, details=details)
    order.failure_code = failure.code.value
    order.finished_at = failure.at
    order.outcome = failure.model_dump(mode="json", exclude_none=True)
    session.flush()
    emit(
        session,
        WorkOrderFailed(
            work_order_id=order.id,
            number=order.number,
            kind=order.kind,
            usage_point_id=order.usage_point_id,
            failure_code=failure.code.value,
            failed_at=failure.at,
        ),
    )
    return order


def cancel_work_order(
    session: Session, *, actor: Actor, work_order_id: int, reason: str
) -> WorkOrder:
    """Withdraw an open order (not yet started); its technician's device drops it."""
    order = repository.get_work_order(session, actor, work_order_id, lock=True)
    WORK_ORDER.step(session, actor, order, "cancel", reason=reason)
    order.technician_id = None
    session.flush()
    return order


def order_final_reading(
    session: Session,
    *,
    actor: Actor,
    contract_id: int,
    usage_point_id: int,
    reading_date: date,
    process: str,
) -> WorkOrder:
    """A contract process (move-out, transfer, termination) needs a final read on
    ``reading_date``: one final-read order per contract and date, however often asked."""
    return create_work_order(
        session,
        actor=actor,
        data=WorkOrderCreate(
            kind=WorkOrderKind.FINAL_READ,
            usage_point_id=usage_point_id,
            contract_id=contract_id,
            planned_date=reading_date,
            due_date=reading_date,
            priority=2,
            reason=f"final reading for {process.replace('_', ' ')}",
            instructions={"process": process, "reading_date": reading_date.isoformat()},
            source_key=f"final_read:contract:{contract_id}:{reading_date.isoformat()}",
        ),
    )
