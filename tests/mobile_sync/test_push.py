"""Push: receipts per record (applied, duplicate, rejected), flags, clock correction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from meters.models import Reading
from mobile_sync.models import SyncOperation
from tests.mobile_sync.world import FieldWorld

NOW = datetime.now(UTC).replace(microsecond=0)


def reading(register_id: int, value: float, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "kind": "reading",
        "base_version": None,
        "captured_at": (NOW - timedelta(hours=1)).isoformat(),
        "gps": None,
        "scanned_serial": None,
        "photos": [],
        "data": {"round_item_id": None, "register_id": register_id, "value": value},
    }
    record.update(extra)
    return record


def push(client: TestClient, headers: dict[str, str], *records: dict[str, Any], **kw: Any) -> Any:
    body = {
        "device_time": kw.get("device_time", datetime.now(UTC).isoformat()),
        "records": list(records),
    }
    response = client.post("/api/v1/sync/push", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()["receipts"]


def test_a_reading_is_applied_once_and_a_resend_is_a_duplicate(
    client: TestClient, db: Session, world: FieldWorld, enroll: Any
) -> None:
    device = enroll(world.technicians[0])
    point = world.points[0]
    gps = {"lon": point.lon, "lat": point.lat, "accuracy_m": 5}
    record = reading(point.register_id, 120, gps=gps, scanned_serial=point.meter_serial)
    [receipt] = push(client, device.headers, record)
    assert receipt["status"] == "applied", receipt
    assert receipt["flags"] == []
    stored = db.scalar(select(Reading).where(Reading.id == receipt["server_id"]))
    assert stored is not None and stored.value == 120 and stored.source == "handheld"
    [again] = push(client, device.headers, record)
    assert again["status"] == "duplicate"
    assert again["original"]["status"] == "applied"
    assert again["original"]["server_id"] == receipt["server_id"]
    count = db.scalar(
        select(func.count())
        .select_from(SyncOperation)
        .where(SyncOperation.uuid == uuid.UUID(record["uuid"]))
    )
    assert count == 1


def test_flags_far_poor_accuracy_and_serial(
    client: TestClient, world: FieldWorld, enroll: Any
) -> None:
    device = enroll(world.technicians[0])
    point = world.points[1]
    # 0.0005 deg of latitude ~ 55 m (> 30 m); 0.0001 deg ~ 11 m (< 30 m).
    far = {"lon": point.lon, "lat": point.lat + 0.0005, "accuracy_m": 40}
    near = {"lon": point.lon, "lat": point.lat + 0.0001, "accuracy_m": 10}
    receipts = push(
        client,
        device.headers,
        reading(point.register_id, 10, gps=far, scanned_serial="WRONG-1"),
        reading(
            point.register_id, 11, gps=near, captured_at=(NOW - timedelta(minutes=30)).isoformat()
        ),
    )
    assert [r["status"] for r in receipts] == ["applied", "applied"]
    assert set(receipts[0]["flags"]) >= {"far_from_meter", "poor_gps_accuracy", "serial_mismatch"}
    assert "far_from_meter" not in receipts[1]["flags"]


def test_a_bad_record_is_rejected_alone(client: TestClient, world: FieldWorld, enroll: Any) -> None:
    device = enroll(world.technicians[0])
    point = world.points[2]
    receipts = push(
        client,
        device.headers,
        reading(point.register_id, 5),
        reading(999_999_999, 5),
        reading(point.register_id, 6, data={"register_id": point.register_id}),  # no value
        reading(point.register_id, 7, captured_at=(NOW + timedelta(days=3)).isoformat()),
        reading(point.register_id, 8, kind="skip", data={"round_item_id": 1, "skip_code": "x"}),
    )
    assert [r["status"] for r in receipts] == [
        "applied",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert receipts[1]["code"] == "reference_unknown"
    assert receipts[2]["code"] == "invalid_data"
    assert receipts[3]["code"] == "read_at_out_of_bounds"
    assert receipts[4]["code"] in {"kind_unsupported", "round_items_unavailable", "invalid_data"}


def test_a_wrong_device_clock_is_corrected(
    client: TestClient, db: Session, world: FieldWorld, enroll: Any
) -> None:
    device = enroll(world.technicians[0])
    point = world.points[3]
    skew = timedelta(days=400)  # the phone thinks it is more than a year later
    device_now = datetime.now(UTC) + skew
    record = reading(
        point.register_id, 50, captured_at=(device_now - timedelta(hours=2)).isoformat()
    )
    [receipt] = push(client, device.headers, record, device_time=device_now.isoformat())
    assert receipt["status"] == "applied", receipt
    assert "device_clock_corrected" in receipt["flags"]
    read_at = db.scalar(select(Reading.read_at).where(Reading.id == receipt["server_id"]))
    # Corrected: about two hours ago, server time.
    assert abs((datetime.now(UTC) - timedelta(hours=2) - read_at).total_seconds()) < 600


def test_the_same_uuid_twice_in_one_batch_is_applied_once(
    client: TestClient, db: Session, world: FieldWorld, enroll: Any
) -> None:
    device = enroll(world.technicians[0])
    record = reading(world.points[0].register_id, 77)
    first, second = push(client, device.headers, record, record)
    assert first["status"] == "applied" and second["status"] == "duplicate"
    assert (
        db.scalar(
            text("SELECT count(*) FROM sync_operation WHERE uuid = :u"), {"u": record["uuid"]}
        )
        == 1
    )


def test_another_users_uuid_is_refused(client: TestClient, world: FieldWorld, enroll: Any) -> None:
    mine, theirs = enroll(world.technicians[0]), enroll(world.technicians[1])
    record = reading(world.points[0].register_id, 33)
    assert push(client, mine.headers, record)[0]["status"] == "applied"
    [receipt] = push(client, theirs.headers, record)
    assert receipt["status"] == "rejected" and receipt["code"] == "uuid_taken"


def test_a_register_of_another_territory_is_rejected_like_an_unknown_one(
    client: TestClient, db: Session, world: FieldWorld, enroll: Any
) -> None:
    from tests.mobile_sync.world import build_world

    elsewhere = build_world(db, technicians=1, points=1, origin=(20.0, -10.0))
    db.commit()
    device = enroll(elsewhere.technicians[0])
    [receipt] = push(client, device.headers, reading(world.points[0].register_id, 5))
    assert receipt["status"] == "rejected" and receipt["code"] == "reference_unknown"
    [own] = push(client, device.headers, reading(elsewhere.points[0].register_id, 5))
    assert own["status"] == "applied", own
