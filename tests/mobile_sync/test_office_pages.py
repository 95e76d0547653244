"""The office's sync queue page: a record the office's change overtook is listed with why
and what the device sent; the office applies it from the page, once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.service import create_user
from field import service as field_service
from meters.models import Reading
from mobile_sync.models import SyncConflict
from tests.conftest import TEST_PASSWORD
from tests.mobile_sync.test_field_sync import pull_all, push, record
from tests.mobile_sync.world import OFFICE, FieldWorld, build_world


@pytest.fixture()
def queue_world(db: Session) -> FieldWorld:
    built = build_world(db, technicians=2, points=3, rounds=True)
    db.commit()
    return built


def test_the_office_sees_a_conflict_and_applies_it_from_the_page(
    client: TestClient,
    db: Session,
    queue_world: FieldWorld,
    enroll: Any,
) -> None:
    me, other = queue_world.technicians
    device = enroll(me)
    [stop, *_] = [
        c for c in pull_all(client, device.headers)["changes"] if c["kind"] == "round_item"
    ]
    field_service.assign_round(
        db,
        actor=OFFICE,
        round_id=queue_world.round_of[me],
        technician_id=queue_world.technician_id[other],
    )
    db.commit()
    register = stop["data"]["registers"][0]["register_id"]
    read = record(
        "reading",
        {"round_item_id": stop["id"], "register_id": register, "value": 20},
        stop["version"],
    )
    [receipt] = push(client, device.headers, read)
    assert receipt["status"] == "conflict"
    conflict_id = db.scalar(
        select(SyncConflict.id).where(SyncConflict.code == "round_item_reassigned")
    )

    create_user(
        db,
        username="sync-office",
        password=TEST_PASSWORD,
        roles=["fraud_analyst"],
        agency_code=queue_world.agency_code,
    )
    db.commit()
    signed_in = client.post(
        "/login",
        data={"username": "sync-office", "password": TEST_PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = client.get("/field/sync")
    assert page.status_code == 200
    assert f'data-conflict="{conflict_id}" data-status="open"' in page.text
    assert "round item reassigned" in page.text and read["uuid"] not in page.text

    empty_note = client.post(
        f"/field/sync/conflicts/{conflict_id}/resolve", data={"action": "apply", "note": ""}
    )
    assert empty_note.status_code == 422  # a decision needs its reason
    applied = client.post(
        f"/field/sync/conflicts/{conflict_id}/resolve",
        data={"action": "apply", "note": "the reader was there first"},
        follow_redirects=False,
    )
    assert applied.status_code == 303
    assert db.scalar(select(SyncConflict.status).where(SyncConflict.id == conflict_id)) == "applied"
    stored = db.scalar(select(Reading).where(Reading.register_id == register))
    assert stored is not None and stored.value == 20
    again = client.post(
        f"/field/sync/conflicts/{conflict_id}/resolve", data={"action": "discard", "note": "again"}
    )
    assert again.status_code == 409  # resolved once
    listed = client.get("/field/sync?status=applied").text
    assert f'data-conflict="{conflict_id}" data-status="applied"' in listed
    assert "the reader was there first" in listed
