"""Photos: whole and resumable uploads checked against their hash; records know which of
their photos are missing; the office sees incomplete records."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from mobile_sync import attachments
from tests.mobile_sync.world import FieldWorld

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # a PNG signature and 10,240 bytes
SHA = hashlib.sha256(PNG).hexdigest()


def url(sha: str = SHA) -> str:
    return f"/api/v1/sync/attachments/{sha}"


def test_whole_upload_is_checked_and_idempotent(
    client: TestClient, world: FieldWorld, enroll: Any
) -> None:
    device = enroll(world.technicians[0])
    headers = {**device.headers, "Content-Type": "image/png"}
    assert client.head(url(), headers=device.headers).status_code == 404
    first = client.put(url(), headers=headers, content=PNG)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "sha256": SHA,
        "received": len(PNG),
        "total": len(PNG),
        "complete": True,
    }
    again = client.put(url(), headers=headers, content=PNG)
    assert again.status_code == 200 and again.json()["complete"]
    head = client.head(url(), headers=device.headers)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(PNG))
    assert attachments.file_matches(SHA)


def test_a_hash_mismatch_stores_nothing(client: TestClient, world: FieldWorld, enroll: Any) -> None:
    device = enroll(world.technicians[0])
    wrong = hashlib.sha256(b"something else").hexdigest()
    response = client.put(
        url(wrong), headers={**device.headers, "Content-Type": "image/png"}, content=PNG
    )
    assert response.status_code == 422 and response.json()["code"] == "attachment_hash_mismatch"
    assert client.head(url(wrong), headers=device.headers).status_code == 404
    assert not attachments.final_path(wrong).exists()


def test_resumable_chunks(client: TestClient, world: FieldWorld, enroll: Any) -> None:
    device = enroll(world.technicians[0])
    headers = {**device.headers, "Content-Type": "image/png"}
    total = len(PNG)
    part = client.put(
        url(), headers={**headers, "Content-Range": f"bytes 0-4095/{total}"}, content=PNG[:4096]
    )
    assert part.status_code == 202 and part.json()["received"] == 4096
    head = client.head(url(), headers=device.headers)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "4096"
    # A chunk beyond the received bytes is refused; a retried overlapping one is taken.
    gap = client.put(
        url(),
        headers={**headers, "Content-Range": f"bytes 8192-{total - 1}/{total}"},
        content=PNG[8192:],
    )
    assert gap.status_code == 409 and gap.json()["code"] == "attachment_range_invalid"
    rest = client.put(
        url(),
        headers={**headers, "Content-Range": f"bytes 2048-{total - 1}/{total}"},
        content=PNG[2048:],
    )
    assert rest.status_code == 200 and rest.json()["complete"], rest.text
    assert attachments.file_matches(SHA)


def test_records_list_missing_photos_until_they_arrive(
    client: TestClient, world: FieldWorld, enroll: Any, make_user: Any
) -> None:
    device = enroll(world.technicians[0])
    point = world.points[0]
    record = {
        "uuid": str(uuid.uuid4()),
        "kind": "reading",
        "base_version": None,
        "captured_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "gps": None,
        "scanned_serial": None,
        "photos": [SHA],
        "data": {"round_item_id": None, "register_id": point.register_id, "value": 42},
    }
    body = {"device_time": datetime.now(UTC).isoformat(), "records": [record]}
    [receipt] = client.post("/api/v1/sync/push", headers=device.headers, json=body).json()[
        "receipts"
    ]
    assert receipt["status"] == "applied" and receipt["photos_missing"] == [SHA]
    office = {"Authorization": f"Bearer {make_user('fraud_analyst', agency=world.agency_code)}"}
    incomplete = client.get("/api/v1/sync/incomplete", headers=office).json()
    assert [(i["uuid"], i["photos_missing"]) for i in incomplete["items"]] == [
        (record["uuid"], [SHA])
    ]
    client.put(url(), headers={**device.headers, "Content-Type": "image/png"}, content=PNG)
    [again] = client.post("/api/v1/sync/push", headers=device.headers, json=body).json()["receipts"]
    assert again["status"] == "duplicate" and again["photos_missing"] == []
    assert client.get("/api/v1/sync/incomplete", headers=office).json()["total"] == 0
