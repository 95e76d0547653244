"""Work orders: the lifecycle with its history, refused steps, and what each outcome does
to the records of the domain that owns them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.outbox import InTransactionDispatcher, OutboxEvent, use_dispatcher
from customers import service as customers
from customers.models import Contract, UsagePoint
from customers.schemas import MoveInRequest, MoveOutRequest, PartyCreate
from field import repository, service
from field.errors import (
    SkillMissingError,
    TechnicianUnavailableError,
    WorkOrderOutcomeInvalidError,
    WorkOrderTransitionInvalidError,
)
from field.models import WorkOrder
from field.schemas import WorkOrderCreate, WorkOrderFailure, WorkOrderOutcome
from meters import service as meters
from meters.models import MeterInstallation, Reading
from meters.schemas import MeterCreate
from tests.field.conftest import utc

LAT = 6.37


def _order(db, office, usage_point_id: int, kind: str, **extra) -> WorkOrder:
    return service.create_work_order(
        db, actor=office, data=WorkOrderCreate(kind=kind, usage_point_id=usage_point_id, **extra)
    )


def test_lifecycle_steps_leave_history(db, office, make_stop, make_technician) -> None:
    stop = make_stop(2.40, LAT)
    technician, _tech = make_technician()
    order = _order(db, office, stop.usage_point.id, "inspect")
    assert order.number.startswith("WO-") and order.status == "created"
    service.plan_work_order(db, actor=office, work_order_id=order.id, planned_date=date(2025, 5, 2))
    with pytest.raises(SkillMissingError):  # inspection is not among this technician's skills
        service.assign_work_order(
            db, actor=office, work_order_id=order.id, technician_id=technician.id
        )
    inspector, inspector_actor = make_technician(skills=["inspection"])
    service.assign_work_order(db, actor=office, work_order_id=order.id, technician_id=inspector.id)
    service.start_work_order(
        db, actor=inspector_actor, work_order_id=order.id, at=utc(2025, 5, 2, 9)
    )
    service.complete_work_order(
        db,
        actor=inspector_actor,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(completed_at=utc(2025, 5, 2, 10), finding="meter_ok"),
    )
    history = repository.work_order_history(db, order.id)
    assert [(h.event, h.from_status, h.to_status) for h in history] == [
        ("create", None, "created"),
        ("plan", "created", "planned"),
        ("assign", "planned", "assigned"),
        ("start", "assigned", "in_progress"),
        ("complete", "in_progress", "completed"),
    ]
    assert order.outcome["finding"] == "meter_ok" and order.finished_at == utc(2025, 5, 2, 10)
    # A completed order is final: neither cancelled nor started again.
    with pytest.raises(WorkOrderTransitionInvalidError) as refused:
        service.cancel_work_order(db, actor=office, work_order_id=order.id, reason="too late")
    assert refused.value.code == "work_order_transition_invalid"
    assert refused.value.extra["status_now"] == "completed"


def test_refused_steps(db, office, make_stop) -> None:
    stop = make_stop(2.40, LAT)
    order = _order(db, office, stop.usage_point.id, "cut")
    with pytest.raises(WorkOrderTransitionInvalidError):  # not assigned yet
        service.start_work_order(db, actor=office, work_order_id=order.id, at=utc(2025, 5, 2, 9))
    with pytest.raises(WorkOrderTransitionInvalidError):  # cannot complete what never started
        service.complete_work_order(
            db,
            actor=office,
            work_order_id=order.id,
            outcome=WorkOrderOutcome(completed_at=utc(2025, 5, 2, 9)),
        )
    service.cancel_work_order(db, actor=office, work_order_id=order.id, reason="paid")
    with pytest.raises(WorkOrderTransitionInvalidError):
        service.plan_work_order(
            db, actor=office, work_order_id=order.id, planned_date=date(2025, 5, 3)
        )
    assert db.get(UsagePoint, stop.usage_point.id).connection_state == "connected"


def _assigned(db, office, order: WorkOrder, technician) -> WorkOrder:
    return service.assign_work_order(
        db, actor=office, work_order_id=order.id, technician_id=technician.id
    )


def test_cut_and_restore_set_the_connection_state(db, office, make_stop, make_technician) -> None:
    stop = make_stop(2.40, LAT)
    technician, tech = make_technician()
    cut = _assigned(db, office, _order(db, office, stop.usage_point.id, "cut"), technician)
    service.complete_work_order(
        db,
        actor=tech,
        work_order_id=cut.id,
        outcome=WorkOrderOutcome(completed_at=utc(2025, 5, 2, 9)),
    )
    point = db.get(UsagePoint, stop.usage_point.id)
    assert (point.connection_state, point.connection_state_at) == (
        "disconnected",
        utc(2025, 5, 2, 9),
    )
    assert cut.outcome["connection_state"] == "disconnected"
    restore = _assigned(db, office, _order(db, office, stop.usage_point.id, "restore"), technician)
    service.complete_work_order(
        db,
        actor=tech,
        work_order_id=restore.id,
        outcome=WorkOrderOutcome(completed_at=utc(2025, 5, 3, 9)),
    )
    assert db.get(UsagePoint, stop.usage_point.id).connection_state == "connected"
    names = db.scalars(select(OutboxEvent.name).where(OutboxEvent.name.like("field.%"))).all()
    assert names.count("field.supply_state_changed") == 2


def test_replacement_closes_and_opens_installations(db, office, make_stop, make_technician) -> None:
    stop = make_stop(2.40, LAT)  # start index 1000 on 1 Jan 2025
    technician, tech = make_technician()
    new_meter = meters.create_meter(
        db, data=MeterCreate(serial="FIELD-NEW-1", meter_type="postpaid")
    )
    order = _assigned(db, office, _order(db, office, stop.usage_point.id, "replace"), technician)
    with pytest.raises(WorkOrderOutcomeInvalidError) as incomplete:
        service.complete_work_order(
            db,
            actor=tech,
            work_order_id=order.id,
            outcome=WorkOrderOutcome(completed_at=utc(2025, 5, 2, 9)),
        )
    assert {e.field for e in incomplete.value.errors} == {
        "indexes",
        "new_meter_id",
        "new_start_indexes",
    }
    service.complete_work_order(
        db,
        actor=tech,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(
            completed_at=utc(2025, 5, 2, 9),
            indexes={"total": Decimal(1450)},
            new_meter_id=new_meter.id,
            new_start_indexes={"total": Decimal(7)},
        ),
    )
    old, new = db.scalars(
        select(MeterInstallation)
        .where(MeterInstallation.usage_point_id == stop.usage_point.id)
        .order_by(MeterInstallation.installed_at)
    ).all()
    assert (old.meter_id, old.end_indexes, old.removed_at) == (
        stop.meter.id,
        {"total": "1450"},
        utc(2025, 5, 2, 9),
    )
    assert (new.meter_id, new.start_indexes, new.installed_at, new.removed_at) == (
        new_meter.id,
        {"total": "7"},
        utc(2025, 5, 2, 9),
        None,
    )
    assert new.replaces_installation_id == old.id
    assert (order.status, order.meter_id, order.outcome["installation_id"]) == (
        "completed",
        new_meter.id,
        new.id,
    )


def test_failure_keeps_the_code(db, office, make_stop, make_technician) -> None:
    stop = make_stop(2.40, LAT)
    technician, tech = make_technician()
    order = _assigned(db, office, _order(db, office, stop.usage_point.id, "re_read"), technician)
    service.fail_work_order(
        db,
        actor=tech,
        work_order_id=order.id,
        failure=WorkOrderFailure(code="no_access", at=utc(2025, 5, 2, 9)),
    )
    assert (order.status, order.failure_code) == ("failed", "no_access")
    assert db.scalar(select(OutboxEvent.name).where(OutboxEvent.name == "field.work_order_failed"))


def test_move_out_orders_a_final_read_and_completing_it_stores_the_reading(
    db, office, make_stop, make_technician
) -> None:
    stop = make_stop(2.40, LAT)
    party, _ = customers.create_party(
        db, actor=office, data=PartyCreate(kind="person", display_name="Awa Field")
    )
    contract = customers.move_in(
        db,
        actor=office,
        data=MoveInRequest(
            usage_point_id=stop.usage_point.id,
            holder_party_id=party.id,
            tariff_code="BT-DOM",
            start_date=date(2025, 1, 1),
        ),
    )
    customers.move_out(
        db, actor=office, contract_id=contract.id, data=MoveOutRequest(end_date=date(2025, 5, 2))
    )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()  # the event is dispatched: the field handler orders the final read
    [order] = db.scalars(select(WorkOrder).where(WorkOrder.contract_id == contract.id)).all()
    assert (order.kind, order.status, order.usage_point_id, order.planned_date) == (
        "final_read",
        "created",
        stop.usage_point.id,
        date(2025, 5, 2),
    )
    assert order.instructions["process"] == "move_out"
    assert order.instructions["meter_serial"] == stop.meter.serial
    # Asked again (a redelivered event): still one order.
    again = service.order_final_reading(
        db,
        actor=office,
        contract_id=contract.id,
        usage_point_id=stop.usage_point.id,
        reading_date=date(2025, 5, 2),
        process="move_out",
    )
    assert again.id == order.id
    technician, tech = make_technician()
    _assigned(db, office, order, technician)
    service.complete_work_order(
        db,
        actor=tech,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(completed_at=utc(2025, 5, 2, 8), indexes={"total": Decimal(1234)}),
    )
    [reading] = db.scalars(select(Reading).where(Reading.meter_id == stop.meter.id)).all()
    assert (
        reading.value,
        reading.read_at,
        reading.source,
        reading.usage_point_id,
        reading.reader_id,
    ) == (Decimal("1234.000"), utc(2025, 5, 2, 8), "handheld", stop.usage_point.id, tech.user_id)
    assert order.outcome["reading_ids"] == [reading.id]
    taken = db.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "field.final_reading_taken")
    ).one()
    assert (
        taken.payload["contract_id"],
        taken.payload["reading_ids"],
        taken.payload["process"],
    ) == (contract.id, [reading.id], "move_out")
    assert db.get(Contract, contract.id).status == "ended"


def test_assignment_follows_working_days(db, office, make_stop, make_technician) -> None:
    stop = make_stop(2.40, LAT)
    weekdays, _ = make_technician()  # Monday to Friday
    weekend, _ = make_technician(working_days=[6, 7])
    order = _order(db, office, stop.usage_point.id, "cut", planned_date=date(2025, 5, 3))
    with pytest.raises(TechnicianUnavailableError) as refused:  # 3 May 2025 is a Saturday
        service.assign_work_order(
            db, actor=office, work_order_id=order.id, technician_id=weekdays.id
        )
    assert refused.value.extra == {"working_days": [1, 2, 3, 4, 5]}
    service.assign_work_order(db, actor=office, work_order_id=order.id, technician_id=weekend.id)
    assert (order.status, order.technician_id) == ("assigned", weekend.id)
