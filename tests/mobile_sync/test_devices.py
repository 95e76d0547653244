"""Devices: enrollment, secret rotation, refusals (unknown, revoked, another user's)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from tests.mobile_sync.world import FieldWorld


def pull(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/api/v1/sync/pull", headers=headers)


def test_enrolled_device_pulls_and_a_rotated_secret_replaces_the_old(
    client: TestClient, world: FieldWorld, enroll: Any
) -> None:
    first = enroll(world.technicians[0], device_uuid="phone-0001")
    assert pull(client, first.headers).status_code == 200
    again = enroll(world.technicians[0], device_uuid="phone-0001")
    assert again.device_id == first.device_id and again.secret != first.secret
    old = pull(client, first.headers)
    assert old.status_code == 401 and old.json()["code"] == "device_unknown"
    assert pull(client, again.headers).status_code == 200


def test_missing_or_wrong_device_header_is_device_unknown(
    client: TestClient, world: FieldWorld, enroll: Any
) -> None:
    device = enroll(world.technicians[0])
    for header in (None, "garbage", f"{device.device_id}.wrong", "99999999.x"):
        headers = dict(device.token_headers)
        if header is not None:
            headers["X-Kilowatch-Device"] = header
        response = pull(client, headers)
        assert response.status_code == 401, header
        assert response.json()["code"] == "device_unknown"


def test_another_users_device_is_refused(
    client: TestClient, world: FieldWorld, enroll: Any
) -> None:
    mine, theirs = enroll(world.technicians[0]), enroll(world.technicians[1])
    headers = {**mine.token_headers, "X-Kilowatch-Device": f"{theirs.device_id}.{theirs.secret}"}
    response = pull(client, headers)
    assert response.status_code == 403 and response.json()["code"] == "device_not_yours"


def test_a_revoked_device_is_refused_and_the_revocation_audited(
    client: TestClient, db: Session, world: FieldWorld, enroll: Any, make_user: Any
) -> None:
    device = enroll(world.technicians[0], device_uuid="lost-phone-01")
    office = {"Authorization": f"Bearer {make_user('fraud_analyst', agency=world.agency_code)}"}
    listed = client.get("/api/v1/sync/devices", headers=office)
    assert listed.status_code == 200
    assert device.device_id in [d["id"] for d in listed.json()["items"]]
    revoked = client.post(
        f"/api/v1/sync/devices/{device.device_id}/revoke",
        headers=office,
        json={"reason": "phone lost"},
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    response = pull(client, device.headers)
    assert response.status_code == 403 and response.json()["code"] == "device_revoked"
    # Re-enrolling the same phone does not lift the revocation.
    again = client.post(
        "/api/v1/sync/devices",
        headers=device.token_headers,
        json={"device_uuid": "lost-phone-01", "label": "x"},
    )
    assert again.status_code == 403 and again.json()["code"] == "device_revoked"
    audit = db.scalars(
        select(AuditLog).where(
            AuditLog.table_name == "sync_device",
            AuditLog.entity_key == str(device.device_id),
            AuditLog.action == "update",
        )
    ).all()
    assert any(a.reason == "phone lost" and a.after.get("status") == "revoked" for a in audit)
