"""Field operations: teams and technicians, reading rounds (build, order, assign, read,
skip, progress), work orders (lifecycle and outcomes) and seals (inventory, issue, events).

Planning asks for ``field:write``, work done in the field for ``field:execute``, reading
for ``field:read``. Everything is limited to the caller's territory (``field.repository``):
404 for a round, stop, work order or technician it does not see.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.pages import Page
from field import repository, service
from field.enums import WorkOrderKind, WorkOrderStatus
from field.models import WorkOrder
from field.schemas import (
    CycleCreate,
    CycleRead,
    RoundAssign,
    RoundBuild,
    RoundItemRead,
    RoundProgress,
    RoundRead,
    RoundReadingRequest,
    RoundReadingResult,
    RoundReorder,
    SealAnomaly,
    SealApply,
    SealBatchCreate,
    SealBatchRead,
    SealBatchStock,
    SealEventRead,
    SealEventRequest,
    SealIssue,
    SealRead,
    SkipRequest,
    TeamCreate,
    TeamRead,
    TechnicianCreate,
    TechnicianRead,
    TechnicianUpdate,
    WorkOrderAssign,
    WorkOrderCancel,
    WorkOrderCreate,
    WorkOrderDetail,
    WorkOrderFailure,
    WorkOrderOutcome,
    WorkOrderPlan,
    WorkOrderRead,
    WorkOrderStart,
    WorkOrderStepRead,
)

router = APIRouter(prefix="/api/v1/field", tags=["field"], responses=PROBLEM_RESPONSES)
_STATE = {**NOT_FOUND, **CONFLICT}


# -- organisation ------------------------------------------------------------------------------


@router.get("/teams", response_model=list[TeamRead])
def list_teams(session: DbSession, actor: CurrentActor("field:read")) -> list[TeamRead]:  # type: ignore[valid-type]
    return [TeamRead.model_validate(t) for t in repository.teams(session, actor)]


@router.post("/teams", response_model=TeamRead, status_code=201, responses=CONFLICT)
def create_team(
    body: TeamCreate, session: DbSession, actor: CurrentActor("field:write")
) -> TeamRead:  # type: ignore[valid-type]
    return TeamRead.model_validate(service.create_team(session, actor=actor, data=body))


@router.get("/technicians", response_model=list[TechnicianRead])
def list_technicians(session: DbSession, actor: CurrentActor("field:read")) -> list[TechnicianRead]:  # type: ignore[valid-type]
    return [TechnicianRead.model_validate(t) for t in repository.technicians(session, actor)]


@router.post("/technicians", response_model=TechnicianRead, status_code=201, responses=CONFLICT)
def create_technician(
    body: TechnicianCreate,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> TechnicianRead:
    """Make a user (who signs in on the handheld) a technician, with skills and working days."""
    return TechnicianRead.model_validate(service.create_technician(session, actor=actor, data=body))


@router.patch("/technicians/{technician_id}", response_model=TechnicianRead, responses=NOT_FOUND)
def update_technician(
    technician_id: Id,
    body: TechnicianUpdate,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> TechnicianRead:
    technician = service.update_technician(
        session, actor=actor, technician_id=technician_id, data=body
    )
    return TechnicianRead.model_validate(technician)


# -- rounds ------------------------------------------------------------------------------------


@router.get("/cycles", response_model=list[CycleRead])
def list_cycles(session: DbSession, actor: CurrentActor("field:read")) -> list[CycleRead]:  # type: ignore[valid-type]
    return [
        CycleRead(
            **CycleRead.model_validate(c).model_dump(exclude={"usage_points"}), usage_points=n
        )
        for c, n in repository.cycles(session, actor)
    ]


@router.post("/cycles", response_model=CycleRead, status_code=201, responses=CONFLICT)
def create_cycle(
    body: CycleCreate, session: DbSession, actor: CurrentActor("field:write")
) -> CycleRead:  # type: ignore[valid-type]
    """A reading cycle and its usage points (a usage point in another cycle moves here)."""
    cycle = service.create_cycle(session, actor=actor, data=body)
    return CycleRead(
        **CycleRead.model_validate(cycle).model_dump(exclude={"usage_points"}),
        usage_points=len(set(body.usage_point_ids)),
    )


@router.get("/rounds", response_model=Page[RoundRead])
def list_rounds(
    session: DbSession,
    actor: CurrentActor("field:read"),  # type: ignore[valid-type]
    period_start: date | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[RoundRead]:
    rounds, total = repository.rounds_page(
        session, actor, period_start=period_start, offset=offset, limit=limit
    )
    return Page(
        items=[RoundRead.model_validate(r) for r in rounds], total=total, offset=offset, limit=limit
    )


@router.post("/rounds", response_model=RoundRead, status_code=201, responses=CONFLICT)
def build_round(
    body: RoundBuild, session: DbSession, actor: CurrentActor("field:write")
) -> RoundRead:  # type: ignore[valid-type]
    """Build a round for a period from a cycle, a transformer or feeder zone, or a drawn
    polygon (GeoJSON, EPSG:4326), ordered as a walking route (OR-Tools, metric distances
    in the projected CRS), each stop with its expected range per register."""
    return RoundRead.model_validate(service.build_round(session, actor=actor, data=body))


@router.get("/rounds/{round_id}", response_model=RoundRead, responses=NOT_FOUND)
def get_round(round_id: Id, session: DbSession, actor: CurrentActor("field:read")) -> RoundRead:  # type: ignore[valid-type]
    return RoundRead.model_validate(repository.get_round(session, actor, round_id))


@router.get("/rounds/{round_id}/items", response_model=list[RoundItemRead], responses=NOT_FOUND)
def round_items(
    round_id: Id, session: DbSession, actor: CurrentActor("field:read")
) -> list[RoundItemRead]:  # type: ignore[valid-type]
    """The stops in walking order."""
    repository.get_round(session, actor, round_id)
    return [RoundItemRead.model_validate(i) for i in repository.round_items(session, round_id)]


@router.get("/rounds/{round_id}/progress", response_model=RoundProgress, responses=NOT_FOUND)
def round_progress(
    round_id: Id, session: DbSession, actor: CurrentActor("field:read")
) -> RoundProgress:  # type: ignore[valid-type]
    """Read / skipped / pending stops, in total and per reader."""
    return RoundProgress(**service.round_progress(session, actor=actor, round_id=round_id))


@router.post("/rounds/{round_id}/assign", response_model=RoundRead, responses=_STATE)
def assign_round(
    round_id: Id,
    body: RoundAssign,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> RoundRead:
    """Give the pending stops to a reader (null: take them back); the route version grows."""
    reading_round = service.assign_round(
        session, actor=actor, round_id=round_id, technician_id=body.technician_id
    )
    return RoundRead.model_validate(reading_round)


@router.post("/rounds/{round_id}/reorder", response_model=RoundRead, responses=_STATE)
def reorder_round(
    round_id: Id,
    body: RoundReorder,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> RoundRead:
    reading_round = service.reorder_round(
        session, actor=actor, round_id=round_id, ordering=body.ordering
    )
    return RoundRead.model_validate(reading_round)


@router.post("/rounds/{round_id}/close", response_model=RoundRead, responses=_STATE)
def close_round(round_id: Id, session: DbSession, actor: CurrentActor("field:write")) -> RoundRead:  # type: ignore[valid-type]
    return RoundRead.model_validate(service.close_round(session, actor=actor, round_id=round_id))


def _result(result: service.RoundReadResult) -> RoundReadingResult:
    return RoundReadingResult(
        item=RoundItemRead.model_validate(result.item),
        reading_ids=result.reading_ids,
        reading_status=result.reading_status,
        reason_codes=result.reason_codes,
        re_read_work_order_id=result.re_read.id if result.re_read else None,
    )


@router.post(
    "/round-items/{round_item_id}/reading",
    response_model=RoundReadingResult,
    status_code=201,
    responses=_STATE,
)
def record_round_reading(
    round_item_id: Id,
    body: RoundReadingRequest,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> RoundReadingResult:
    """The reader's values for a stop; an implausible one creates a re-read order."""
    result = service.record_round_reading(
        session, actor=actor, round_item_id=round_item_id, data=body
    )
    return _result(result)


@router.post("/round-items/{round_item_id}/skip", response_model=RoundItemRead, responses=_STATE)
def skip_round_item(
    round_item_id: Id,
    body: SkipRequest,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> RoundItemRead:
    item = service.skip_round_item(session, actor=actor, round_item_id=round_item_id, data=body)
    return RoundItemRead.model_validate(item)


# -- work orders -------------------------------------------------------------------------------


@router.get("/work-orders", response_model=Page[WorkOrderRead])
def list_work_orders(
    session: DbSession,
    actor: CurrentActor("field:read"),  # type: ignore[valid-type]
    status: WorkOrderStatus | None = None,
    kind: WorkOrderKind | None = None,
    technician_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[WorkOrderRead]:
    orders, total = repository.work_orders_page(
        session,
        actor,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        technician_id=technician_id,
        offset=offset,
        limit=limit,
    )
    return Page(
        items=[WorkOrderRead.model_validate(o) for o in orders],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.post("/work-orders", response_model=WorkOrderRead, status_code=201, responses=CONFLICT)
def create_work_order(
    body: WorkOrderCreate,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> WorkOrderRead:
    return WorkOrderRead.model_validate(service.create_work_order(session, actor=actor, data=body))


def _detail(session: Session, order: WorkOrder) -> WorkOrderDetail:
    history = [
        WorkOrderStepRead.model_validate(h)
        for h in repository.work_order_history(session, order.id)
    ]
    return WorkOrderDetail(**WorkOrderRead.model_validate(order).model_dump(), history=history)


@router.get("/work-orders/{work_order_id}", response_model=WorkOrderDetail, responses=NOT_FOUND)
def get_work_order(
    work_order_id: Id, session: DbSession, actor: CurrentActor("field:read")
) -> WorkOrderDetail:  # type: ignore[valid-type]
    """The order with its lifecycle history."""
    return _detail(session, repository.get_work_order(session, actor, work_order_id))


@router.post("/work-orders/{work_order_id}/plan", response_model=WorkOrderDetail, responses=_STATE)
def plan_work_order(
    work_order_id: Id,
    body: WorkOrderPlan,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> WorkOrderDetail:
    order = service.plan_work_order(
        session,
        actor=actor,
        work_order_id=work_order_id,
        planned_date=body.planned_date,
        team_id=body.team_id,
        reason=body.reason,
    )
    return _detail(session, order)


@router.post(
    "/work-orders/{work_order_id}/assign", response_model=WorkOrderDetail, responses=_STATE
)
def assign_work_order(
    work_order_id: Id,
    body: WorkOrderAssign,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> WorkOrderDetail:
    order = service.assign_work_order(
        session,
        actor=actor,
        work_order_id=work_order_id,
        technician_id=body.technician_id,
        reason=body.reason,
    )
    return _detail(session, order)


@router.post(
    "/work-orders/{work_order_id}/cancel", response_model=WorkOrderDetail, responses=_STATE
)
def cancel_work_order(
    work_order_id: Id,
    body: WorkOrderCancel,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> WorkOrderDetail:
    order = service.cancel_work_order(
        session, actor=actor, work_order_id=work_order_id, reason=body.reason
    )
    return _detail(session, order)


@router.post("/work-orders/{work_order_id}/start", response_model=WorkOrderDetail, responses=_STATE)
def start_work_order(
    work_order_id: Id,
    body: WorkOrderStart,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> WorkOrderDetail:
    order = service.start_work_order(
        session, actor=actor, work_order_id=work_order_id, at=body.at, gps=body.gps
    )
    return _detail(session, order)


@router.post(
    "/work-orders/{work_order_id}/complete", response_model=WorkOrderDetail, responses=_STATE
)
def complete_work_order(
    work_order_id: Id,
    body: WorkOrderOutcome,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> WorkOrderDetail:
    """Record the outcome; the owning records change (installations, connection state,
    readings) in the same transaction."""
    order = service.complete_work_order(
        session, actor=actor, work_order_id=work_order_id, outcome=body
    )
    return _detail(session, order)


@router.post("/work-orders/{work_order_id}/fail", response_model=WorkOrderDetail, responses=_STATE)
def fail_work_order(
    work_order_id: Id,
    body: WorkOrderFailure,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> WorkOrderDetail:
    order = service.fail_work_order(session, actor=actor, work_order_id=work_order_id, failure=body)
    return _detail(session, order)


# -- seals -------------------------------------------------------------------------------------


@router.get("/seal-batches", response_model=list[SealBatchStock])
def list_seal_batches(
    session: DbSession, actor: CurrentActor("field:read")
) -> list[SealBatchStock]:  # type: ignore[valid-type]
    """The seal inventory: each batch the caller sees and its seals per status."""
    stock: dict[int, dict[str, int]] = {}
    for batch_id, status, count in repository.seal_stock(session, actor):
        stock.setdefault(batch_id, {})[status] = count
    return [
        SealBatchStock(
            **SealBatchRead.model_validate(b).model_dump(),
            stock=stock.get(b.id, {}),
        )
        for b in repository.seal_batches(session, actor)
    ]


@router.post("/seal-batches", response_model=SealBatchStock, status_code=201, responses=CONFLICT)
def receive_seal_batch(
    body: SealBatchCreate,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> SealBatchStock:
    """Receive a batch of numbered seals (prefix + number range) into the store."""
    batch = service.receive_seal_batch(session, actor=actor, data=body)
    count = body.last_number - body.first_number + 1
    return SealBatchStock(
        **SealBatchRead.model_validate(batch).model_dump(),
        stock={"in_stock": count},
    )


@router.post("/seals/issue", response_model=list[SealRead], responses=_STATE)
def issue_seals(
    body: SealIssue, session: DbSession, actor: CurrentActor("field:write")
) -> list[SealRead]:  # type: ignore[valid-type]
    return [
        SealRead.model_validate(s) for s in service.issue_seals(session, actor=actor, data=body)
    ]


@router.post("/seals/apply", response_model=SealEventRead, status_code=201, responses=_STATE)
def apply_seal(
    body: SealApply, session: DbSession, actor: CurrentActor("field:execute")
) -> SealEventRead:  # type: ignore[valid-type]
    """Fit a seal on a visit; a number is applied once, ever (409 seal_already_applied)."""
    return SealEventRead.model_validate(service.apply_seal(session, actor=actor, data=body))


@router.post("/seals/events", response_model=SealEventRead, status_code=201, responses=_STATE)
def seal_event(
    body: SealEventRequest,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> SealEventRead:
    """Verify, break (on purpose) or remove an applied seal on a visit."""
    action = {
        "verify": service.verify_seal,
        "break": service.break_seal,
        "remove": service.remove_seal,
    }[body.event]
    return SealEventRead.model_validate(action(session, actor=actor, data=body))


@router.post("/seals/anomalies", response_model=SealEventRead, status_code=201, responses=_STATE)
def report_seal_anomaly(
    body: SealAnomaly,
    session: DbSession,
    actor: CurrentActor("field:execute"),  # type: ignore[valid-type]
) -> SealEventRead:
    """A seal found broken, missing or foreign: recorded on the visit and sent to revenue
    protection."""
    return SealEventRead.model_validate(
        service.report_seal_anomaly(session, actor=actor, data=body)
    )
