"""Sync against field: a device pulls only its technician's work, then only changes; reads
on round stops, skips and work-order outcomes go through field's services; master data the
office changed sends a record to the conflict queue, where the office resolves it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from field import service as field_service
from field.enums import WorkOrderKind
from field.models import RoundItem, WorkOrder
from field.schemas import WorkOrderCreate
from meters.models import Reading
from mobile_sync.models import SyncConflict
from tests.mobile_sync.world import OFFICE, FieldWorld, build_world


@pytest.fixture()
def round_world(db: Session) -> FieldWorld:
    built = build_world(db, technicians=2, points=3, rounds=True)
    db.commit()
    return built


def pull_all(client: TestClient, headers: dict[str, str], cursor: str | None = None) -> Any:
    params = {"cursor": cursor} if cursor else {}
    response = client.get("/api/v1/sync/pull", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def record(
    kind: str, data: dict[str, Any], base_version: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "kind": kind,
        "base_version": base_version,
        "captured_at": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
        "gps": extra.get("gps"),
        "scanned_serial": extra.get("scanned_serial"),
        "photos": [],
        "data": data,
    }


def push(client: TestClient, headers: dict[str, str], *records: dict[str, Any]) -> list[Any]:
    body = {"device_time": datetime.now(UTC).isoformat(), "records": list(records)}
    response = client.post("/api/v1/sync/push", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()["receipts"]


def test_a_device_pulls_its_own_round_then_only_changes(
    client: TestClient, db: Session, round_world: FieldWorld, enroll: Any
) -> None:
    me, other = round_world.technicians
    device = enroll(me)
    first = pull_all(client, device.headers)
    items = [c for c in first["changes"] if c["kind"] == "round_item"]
    mine = {p.usage_point_id for p in round_world.points_of[me]}
    assert {c["data"]["usage_point_id"] for c in items} == mine  # and none of the other's
    assert sorted(c["data"]["sequence"] for c in items) == [1, 2, 3]
    stop = items[0]["data"]
    assert stop["registers"][0]["register_id"] is not None
    assert stop["registers"][0]["code"] == "total"
    assert stop["location"] is not None and stop["meter_serial"].startswith("SY")
    assert first["route_version"] > 0 and not first["has_more"]
    # Nothing changed: the cursor gives nothing.
    again = pull_all(client, device.headers, first["cursor"])
    assert again["changes"] == [] and again["cursor"] == first["cursor"]
    # The office gives the round to the other reader: my device drops the stops.
    field_service.assign_round(
        db,
        actor=OFFICE,
        round_id=round_world.round_of[me],
        technician_id=round_world.technician_id[other],
    )
    db.commit()
    changed = pull_all(client, device.headers, first["cursor"])
    assert {(c["kind"], c["deleted"]) for c in changed["changes"]} == {("round_item", True)}
    assert {c["id"] for c in changed["changes"]} == {c["id"] for c in items}
    assert changed["route_version"] > first["route_version"]


def test_a_cursor_of_another_device_is_refused(
    client: TestClient, round_world: FieldWorld, enroll: Any
) -> None:
    mine, theirs = enroll(round_world.technicians[0]), enroll(round_world.technicians[1])
    cursor = pull_all(client, theirs.headers)["cursor"]
    response = client.get("/api/v1/sync/pull", headers=mine.headers, params={"cursor": cursor})
    assert response.status_code == 422 and response.json()["code"] == "cursor_invalid"


def test_reads_and_skips_on_stops_move_the_round(
    client: TestClient, db: Session, round_world: FieldWorld, enroll: Any
) -> None:
    me = round_world.technicians[0]
    device = enroll(me)
    items = [c for c in pull_all(client, device.headers)["changes"] if c["kind"] == "round_item"]
    read_stop, skip_stop = items[0], items[1]
    register = read_stop["data"]["registers"][0]["register_id"]
    location = read_stop["data"]["location"]
    receipts = push(
        client,
        device.headers,
        record(
            "reading",
            {"round_item_id": read_stop["id"], "register_id": register, "value": 15},
            read_stop["version"],
            gps={**location, "accuracy_m": 4},
            scanned_serial=read_stop["data"]["meter_serial"],
        ),
        record(
            "skip", {"round_item_id": skip_stop["id"], "skip_code": "dog"}, skip_stop["version"]
        ),
    )
    assert [r["status"] for r in receipts] == ["applied", "applied"], receipts
    assert receipts[0]["flags"] == []
    stops = {
        i.id: i
        for i in db.scalars(
            select(RoundItem).where(RoundItem.id.in_([read_stop["id"], skip_stop["id"]]))
        )
    }
    assert stops[read_stop["id"]].status == "read"
    assert stops[read_stop["id"]].reading_ids == [receipts[0]["server_id"]]
    assert (stops[skip_stop["id"]].status, stops[skip_stop["id"]].skip_code) == ("skipped", "dog")


def test_a_read_on_a_reassigned_stop_is_queued_and_the_office_applies_it(
    client: TestClient, db: Session, round_world: FieldWorld, enroll: Any, make_user: Any
) -> None:
    me, other = round_world.technicians
    device = enroll(me)
    items = [c for c in pull_all(client, device.headers)["changes"] if c["kind"] == "round_item"]
    stop = items[0]
    field_service.assign_round(
        db,
        actor=OFFICE,
        round_id=round_world.round_of[me],
        technician_id=round_world.technician_id[other],
    )
    db.commit()
    register = stop["data"]["registers"][0]["register_id"]
    read = record(
        "reading",
        {"round_item_id": stop["id"], "register_id": register, "value": 20},
        stop["version"],
    )
    [receipt] = push(client, device.headers, read)
    assert receipt["status"] == "conflict" and receipt["code"] == "round_item_reassigned"
    assert db.scalar(select(Reading).where(Reading.register_id == register)) is None
    office = {
        "Authorization": f"Bearer {make_user('fraud_analyst', agency=round_world.agency_code)}"
    }
    queue = client.get("/api/v1/sync/conflicts", headers=office).json()
    [conflict] = [c for c in queue["items"] if c["operation"]["uuid"] == read["uuid"]]
    assert conflict["entity_kind"] == "round_item" and conflict["entity_id"] == stop["id"]
    # A duplicate of the record is still the conflict, nothing more.
    [again] = push(client, device.headers, read)
    assert again["status"] == "duplicate" and again["original"]["status"] == "conflict"
    resolved = client.post(
        f"/api/v1/sync/conflicts/{conflict['id']}/resolve",
        headers=office,
        json={"action": "apply", "note": "the reader was there first"},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "applied"
    stored = db.scalar(select(Reading).where(Reading.id == resolved.json()["server_id"]))
    assert stored is not None and stored.value == 20 and stored.register_id == register
    assert (
        db.scalar(select(SyncConflict.status).where(SyncConflict.id == conflict["id"])) == "applied"
    )
    twice = client.post(
        f"/api/v1/sync/conflicts/{conflict['id']}/resolve",
        headers=office,
        json={"action": "discard", "note": "again"},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "conflict_already_resolved"


def test_a_work_order_outcome_completes_the_order_and_a_stale_one_is_queued(
    client: TestClient, db: Session, round_world: FieldWorld, enroll: Any
) -> None:
    me = round_world.technicians[0]
    device = enroll(me)
    point = round_world.points_of[me][0]
    orders = []
    for _ in range(2):
        order = field_service.create_work_order(
            db,
            actor=OFFICE,
            data=WorkOrderCreate(
                kind=WorkOrderKind.FINAL_READ, usage_point_id=point.usage_point_id
            ),
        )
        field_service.assign_work_order(
            db, actor=OFFICE, work_order_id=order.id, technician_id=round_world.technician_id[me]
        )
        orders.append(order.id)
    db.commit()
    pulled = {
        c["id"]: c for c in pull_all(client, device.headers)["changes"] if c["kind"] == "work_order"
    }
    assert set(pulled) == set(orders)
    done, stale = (pulled[o] for o in orders)
    # The office cancels the second order after the device pulled it.
    field_service.cancel_work_order(db, actor=OFFICE, work_order_id=stale["id"], reason="moved")
    db.commit()
    outcome = {
        "outcome": "completed",
        "code": None,
        "notes": "ok",
        "seals": [],
        "readings": [{"register_id": point.register_id, "register_code": "total", "value": 42}],
    }
    receipts = push(
        client,
        device.headers,
        record("work_order_outcome", {**outcome, "work_order_id": done["id"]}, done["version"]),
        record("work_order_outcome", {**outcome, "work_order_id": stale["id"]}, stale["version"]),
    )
    assert [r["status"] for r in receipts] == ["applied", "conflict"], receipts
    assert receipts[1]["code"] == "work_order_changed"
    assert db.scalar(select(WorkOrder.status).where(WorkOrder.id == done["id"])) == "completed"
    assert db.scalar(select(WorkOrder.status).where(WorkOrder.id == stale["id"])) == "cancelled"
    reading = db.scalar(select(Reading).where(Reading.register_id == point.register_id))
    assert reading is not None and reading.value == 42  # the final read, stored once


def test_a_move_out_final_read_is_completed_from_the_handheld(
    client: TestClient, db: Session, round_world: FieldWorld, enroll: Any
) -> None:
    """Move-out -> final-read order -> pulled by the reader's device -> outcome pushed ->
    the read is stored and the contract process continues (the contract ends)."""
    from datetime import date

    from core.outbox import InTransactionDispatcher, OutboxEvent, use_dispatcher
    from customers import service as customers
    from customers.models import Contract
    from customers.schemas import MoveInRequest, MoveOutRequest, PartyCreate
    from tests.billing.world import TARIFF, tariff

    me = round_world.technicians[0]
    point = round_world.points_of[me][0]
    tariff(db)  # the contract's tariff: the final bill follows the final read
    party, _ = customers.create_party(
        db, actor=OFFICE, data=PartyCreate(kind="person", display_name="Awa Sync")
    )
    contract = customers.move_in(
        db,
        actor=OFFICE,
        data=MoveInRequest(
            usage_point_id=point.usage_point_id,
            holder_party_id=party.id,
            tariff_code=TARIFF,
            start_date=date(2025, 1, 1),
        ),
    )
    customers.move_out(
        db,
        actor=OFFICE,
        contract_id=contract.id,
        data=MoveOutRequest(end_date=datetime.now(UTC).date()),
    )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()  # the field handler orders the final read
        [order] = db.scalars(select(WorkOrder).where(WorkOrder.contract_id == contract.id)).all()
        assert order.kind == "final_read"
        field_service.assign_work_order(
            db, actor=OFFICE, work_order_id=order.id, technician_id=round_world.technician_id[me]
        )
        db.commit()
        device = enroll(me)
        [pulled] = [
            c
            for c in pull_all(client, device.headers)["changes"]
            if c["kind"] == "work_order" and c["id"] == order.id
        ]
        register = pulled["data"]["registers"][0]
        assert register["register_id"] == point.register_id
        outcome = {
            "work_order_id": order.id,
            "outcome": "completed",
            "code": None,
            "notes": None,
            "seals": [],
            "readings": [{"register_id": point.register_id, "value": 1234}],
        }
        [receipt] = push(
            client, device.headers, record("work_order_outcome", outcome, pulled["version"])
        )
        assert receipt["status"] == "applied", receipt
    [reading] = db.scalars(select(Reading).where(Reading.register_id == point.register_id)).all()
    assert reading.value == 1234 and reading.source == "handheld"
    taken = db.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "field.final_reading_taken")
    ).all()
    assert [e.payload["reading_ids"] for e in taken if e.payload["contract_id"] == contract.id] == [
        [reading.id]
    ]
    db.expire_all()
    assert db.get(Contract, contract.id).status == "ended"


def test_a_cut_paid_on_the_spot_is_pushed_with_its_payment_and_cuts_nothing(
    client: TestClient, db: Session, round_world: FieldWorld, enroll: Any
) -> None:
    """The handheld reports a campaign's cut the customer paid off at the door: the order
    is completed with the payment, the supply stays on; the same finding without what was
    paid is refused."""
    from sqlalchemy import text

    from customers.models import UsagePoint

    me = round_world.technicians[0]
    device = enroll(me)
    point = round_world.points_of[me][0]
    db.execute(  # a reader who also cuts
        text("UPDATE field_technician SET skills = skills || '{disconnection}' WHERE id = :t"),
        {"t": round_world.technician_id[me]},
    )
    orders = []
    for _ in range(2):
        order = field_service.create_work_order(
            db,
            actor=OFFICE,
            data=WorkOrderCreate(kind=WorkOrderKind.CUT, usage_point_id=point.usage_point_id),
        )
        field_service.assign_work_order(
            db, actor=OFFICE, work_order_id=order.id, technician_id=round_world.technician_id[me]
        )
        orders.append(order.id)
    db.commit()
    pulled = {
        c["id"]: c for c in pull_all(client, device.headers)["changes"] if c["kind"] == "work_order"
    }
    paid, unpaid = (pulled[o] for o in orders)
    outcome = {"outcome": "completed", "code": "paid_on_spot", "seals": [], "readings": []}
    receipts = push(
        client,
        device.headers,
        record(
            "work_order_outcome",
            {**outcome, "work_order_id": paid["id"],
             "paid": {"amount": 8378, "reference": "RCPT-77", "taken": True}},
            paid["version"],
        ),
        record("work_order_outcome", {**outcome, "work_order_id": unpaid["id"]}, unpaid["version"]),
    )  # fmt: skip
    assert [r["status"] for r in receipts] == ["applied", "rejected"], receipts
    done = db.get(WorkOrder, paid["id"])
    db.refresh(done)
    assert done.status == "completed"
    assert done.outcome["paid"] == {
        "amount": 8378, "reference": "RCPT-77", "taken": True, "instrument": "cash",
    }  # fmt: skip
    assert done.outcome["connection_state"] == "unchanged"
    assert db.get(UsagePoint, point.usage_point_id).connection_state == "connected"
