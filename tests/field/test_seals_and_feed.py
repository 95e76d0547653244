"""Seals (inventory, single use enforced by the database, anomalies for revenue
protection) and the per-technician delta feed the sync layer pulls."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from core.outbox import OutboxEvent
from field import service
from field.errors import (
    SealAlreadyAppliedError,
    SealBatchOverlapError,
    WorkOrderOutcomeInvalidError,
)
from field.models import Seal
from field.schemas import (
    RoundBuild,
    SealAnomaly,
    SealApply,
    SealBatchCreate,
    SealIssue,
    SealVisitEvent,
    WorkOrderCreate,
    WorkOrderOutcome,
)
from tests.field.conftest import utc

LAT = 6.37
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[2.3995, 6.3695], [2.4035, 6.3695], [2.4035, 6.3705], [2.3995, 6.3705], [2.3995, 6.3695]]
    ],
}


def _batch(db, office, code: str = "B-1", first: int = 100, last: int = 109):
    return service.receive_seal_batch(
        db,
        actor=office,
        data=SealBatchCreate(
            code=code,
            kind="plastic",
            prefix="KW",
            first_number=first,
            last_number=last,
            digits=7,
            received_at=utc(2025, 4, 1),
        ),
    )


def test_batch_issue_apply_once_and_anomaly(db, office, make_stop, make_technician) -> None:
    batch = _batch(db, office)
    numbers = db.scalars(
        select(Seal.number).where(Seal.batch_id == batch.id).order_by(Seal.number)
    ).all()
    assert numbers[0] == "KW0000100" and numbers[-1] == "KW0000109" and len(numbers) == 10
    with pytest.raises(SealBatchOverlapError):  # 105..114 overlaps 100..109
        _batch(db, office, code="B-2", first=105, last=114)
    technician, tech = make_technician()
    service.issue_seals(
        db,
        actor=office,
        data=SealIssue(
            technician_id=technician.id, numbers=["KW0000100", "KW0000101"], at=utc(2025, 4, 2)
        ),
    )
    stop = make_stop(2.40, LAT)
    order = service.create_work_order(
        db, actor=office, data=WorkOrderCreate(kind="seal", usage_point_id=stop.usage_point.id)
    )
    visit = {"work_order_id": order.id}
    service.apply_seal(
        db,
        actor=tech,
        data=SealApply(
            number="KW0000100", visit=visit, position="terminal_cover", at=utc(2025, 4, 3)
        ),
    )
    service.assign_work_order(db, actor=office, work_order_id=order.id, technician_id=technician.id)
    done = service.complete_work_order(
        db,
        actor=tech,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(completed_at=utc(2025, 4, 3)),
    )
    assert done.outcome["seals_applied"] == ["KW0000100"]
    seal = db.scalars(select(Seal).where(Seal.number == "KW0000100")).one()
    assert (seal.status, seal.usage_point_id, seal.meter_id, seal.position, seal.technician_id) == (
        "applied",
        stop.usage_point.id,
        stop.meter.id,
        "terminal_cover",
        None,
    )
    with pytest.raises(SealAlreadyAppliedError):
        service.apply_seal(
            db,
            actor=tech,
            data=SealApply(
                number="KW0000100", visit=visit, position="meter_cover", at=utc(2025, 4, 4)
            ),
        )
    # The database itself refuses a second application of the number, whatever the code does.
    with (
        pytest.raises(IntegrityError, match="uq_field_seal_event_applied_once"),
        db.begin_nested(),
    ):
        db.execute(
            text(
                "INSERT INTO field_seal_event (seal_number, event, work_order_id, at)"
                " VALUES ('KW0000100', 'apply', :wo, now())"
            ),
            {"wo": order.id},
        )
    service.verify_seal(
        db, actor=tech, data=SealVisitEvent(number="KW0000100", visit=visit, at=utc(2025, 4, 5))
    )
    # Next visit: the seal is found broken -> event for revenue protection, seal broken.
    event = service.report_seal_anomaly(
        db,
        actor=tech,
        data=SealAnomaly(
            anomaly="found_broken", number="KW0000100", visit=visit, at=utc(2025, 5, 5)
        ),
    )
    assert seal.status == "broken"
    [news] = db.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "field.seal_anomaly_found")
    ).all()
    assert (
        news.payload["anomaly"],
        news.payload["seal_number"],
        news.payload["usage_point_id"],
        news.payload["seal_event_id"],
    ) == ("found_broken", "KW0000100", stop.usage_point.id, event.id)
    # A foreign seal is reported by what is written on it.
    service.report_seal_anomaly(
        db,
        actor=tech,
        data=SealAnomaly(anomaly="found_foreign", number="XX-999", visit=visit, at=utc(2025, 5, 5)),
    )
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.name == "field.seal_anomaly_found")
        )
        == 2
    )


def test_assignments_since_gives_deltas_and_releases(
    db, office, make_stop, make_technician
) -> None:
    stops = [make_stop(2.400 + k / 1000, LAT) for k in (0, 3, 1, 2)]
    first, _tech = make_technician()
    second, _ = make_technician()
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(
            period_start=date(2025, 5, 1), by="polygon", polygon=SQUARE, technician_id=first.id
        ),
    )
    page = service.assignments_since(db, technician_id=first.id, since=0, limit=100)
    # Walking order A(2.400), C(2.401), D(2.402), B(2.403); route version 2 (built, assigned).
    assert [i["usage_point_id"] for i in page.round_items] == [
        stops[i].usage_point.id for i in (0, 2, 3, 1)
    ]
    assert [i["sequence"] for i in page.round_items] == [1, 2, 3, 4]
    assert {i["route_version"] for i in page.round_items} == {2}
    assert page.round_items[0]["meter_serial"] == stops[0].meter.serial
    assert page.round_items[0]["registers"]["total"]["previous"] == "1000"
    assert page.high_water == 4 and not page.more  # four stamps on this technician's counter
    # Nothing changed since: an empty delta, same mark.
    again = service.assignments_since(db, technician_id=first.id, since=page.high_water, limit=100)
    assert (again.round_items, again.work_orders, again.high_water) == ([], [], 4)
    # Paging: two at a time.
    half = service.assignments_since(db, technician_id=first.id, since=0, limit=2)
    assert (len(half.round_items), half.high_water, half.more) == (2, 2, True)
    # A work order and two seals for the first technician; then the round moves to another.
    order = service.create_work_order(
        db, actor=office, data=WorkOrderCreate(kind="cut", usage_point_id=stops[0].usage_point.id)
    )
    service.assign_work_order(db, actor=office, work_order_id=order.id, technician_id=first.id)
    _batch(db, office)
    service.issue_seals(
        db,
        actor=office,
        data=SealIssue(
            technician_id=first.id, numbers=["KW0000100", "KW0000101"], at=utc(2025, 4, 2)
        ),
    )
    service.assign_round(db, actor=office, round_id=built.id, technician_id=second.id)
    delta = service.assignments_since(db, technician_id=first.id, since=4, limit=100)
    assert [o["number"] for o in delta.work_orders] == [order.number]
    assert delta.work_orders[0]["meter_serial"] == stops[0].meter.serial
    assert sorted(s["number"] for s in delta.seals) == ["KW0000100", "KW0000101"]
    assert delta.round_items == []
    assert sorted(r["id"] for r in delta.released if r["kind"] == "round_item") == sorted(
        i["id"] for i in page.round_items
    )
    # 4 + 1 (order assigned) + 2 (seals) + 4 (releases) = 11.
    assert delta.high_water == 11
    taken_over = service.assignments_since(db, technician_id=second.id, since=0, limit=100)
    assert [i["sequence"] for i in taken_over.round_items] == [1, 2, 3, 4]
    assert {i["route_version"] for i in taken_over.round_items} == {3}


def test_a_sealing_order_needs_a_seal_applied(db, office, make_stop, make_technician) -> None:
    technician, tech = make_technician()
    stop = make_stop(2.40, LAT)
    order = service.create_work_order(
        db, actor=office, data=WorkOrderCreate(kind="seal", usage_point_id=stop.usage_point.id)
    )
    service.assign_work_order(db, actor=office, work_order_id=order.id, technician_id=technician.id)
    with pytest.raises(WorkOrderOutcomeInvalidError) as refused:
        service.complete_work_order(
            db,
            actor=tech,
            work_order_id=order.id,
            outcome=WorkOrderOutcome(completed_at=utc(2025, 4, 3)),
        )
    assert [e.field for e in refused.value.errors] == ["seals"]
