"""The audit trail under the territory rule: a territory-bound reader gets the entries of
rows it can see (and of tables holding nothing located), never the before/after values
of a customer or meter outside its territory."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.auth.service import create_user
from core.context import SYSTEM
from meters import service
from meters.models import Meter
from meters.readings.rule_sets import publish_rule_set
from meters.schemas import MeterCreate
from tests.conftest import TEST_PASSWORD, bearer
from tests.support.territory import INSIDE, OUTSIDE, east_agency, usage_point_at


@pytest.fixture()
def east(db: Session) -> str:
    return east_agency(db, "EAST-A")


def _meter_at(db: Session, where: str) -> Meter:
    point = usage_point_at(db, where)
    meter = service.create_meter(
        db, data=MeterCreate(serial=f"AU{uuid.uuid4().hex[:10].upper()}", meter_type="postpaid")
    )
    service.install_meter(
        db,
        meter_id=meter.id,
        usage_point_id=point.id,
        installed_at=datetime(2025, 1, 1, tzinfo=UTC),
        start_index=0,
    )
    return meter


def _entries(client: TestClient, token: str, entity: str, key: object = None) -> list[dict]:
    params = {"entity": entity, **({"key": str(key)} if key is not None else {})}
    response = client.get("/api/v1/audit", headers=bearer(token), params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_customer_outside_the_territory_keeps_its_audit_values(
    client: TestClient, db: Session, make_user, east: str
) -> None:
    head_desk, head_manager = make_user("customer_desk"), make_user("manager")
    east_manager = make_user("manager", agency=east)
    party = client.post(
        "/api/v1/customers",
        headers=bearer(head_desk),
        json={"kind": "person", "first_name": "Rosalie", "last_name": "Outsider-Zinsou"},
    ).json()
    seen = _entries(client, head_manager, "customer_party", party["id"])
    assert [e["action"] for e in seen] == ["insert"]
    assert seen[0]["after"]["last_name"] == "Outsider-Zinsou"
    assert _entries(client, east_manager, "customer_party", party["id"]) == []
    everything = _entries(client, east_manager, "customer_party")
    assert all(e["entity_key"] != str(party["id"]) for e in everything)


def test_meter_entries_follow_the_meters_place(
    client: TestClient, db: Session, make_user, east: str
) -> None:
    inside, outside = _meter_at(db, INSIDE), _meter_at(db, OUTSIDE)
    db.commit()
    east_manager = make_user("manager", agency=east)
    own = _entries(client, east_manager, "meter_asset", inside.id)
    assert [e["action"] for e in own] == ["update", "insert"]  # installed, then created
    assert (own[0]["after"]["status"], own[1]["after"]["serial"]) == ("installed", inside.serial)
    assert _entries(client, east_manager, "meter_asset", outside.id) == []
    listed = {e["entity_key"] for e in _entries(client, east_manager, "meter_asset")}
    assert str(inside.id) in listed and str(outside.id) not in listed
    installations = _entries(client, east_manager, "meter_installation")
    assert {e["after"]["meter_id"] for e in installations if e["action"] == "insert"} >= {inside.id}
    assert outside.id not in {(e["after"] or {}).get("meter_id") for e in installations}


def test_global_tables_are_seen_and_tables_without_a_model_are_not(
    client: TestClient, db: Session, make_user, east: str
) -> None:
    rule_set = publish_rule_set(db, parameters={}, name="east can read this", actor=SYSTEM)
    db.add(
        AuditLog(
            actor="legacy",
            table_name="legacy_ledger",
            entity_key="1",
            action="insert",
            after={"secret": "x"},
        )
    )
    db.commit()
    head_manager, east_manager = make_user("manager"), make_user("manager", agency=east)
    rules = _entries(client, east_manager, "meter_validation_rule_set", rule_set.id)
    assert [e["after"]["name"] for e in rules] == ["east can read this"]
    assert _entries(client, east_manager, "legacy_ledger") == []
    assert [e["after"] for e in _entries(client, head_manager, "legacy_ledger")] == [
        {"secret": "x"}
    ]


def test_the_audit_page_hides_what_lies_outside(
    client: TestClient, db: Session, make_user, east: str
) -> None:
    outside = _meter_at(db, OUTSIDE)
    inside = _meter_at(db, INSIDE)
    create_user(
        db, username="east.chief", password=TEST_PASSWORD, roles=["manager"], agency_code=east
    )
    db.commit()
    signed_in = client.post(
        "/login",
        data={"username": "east.chief", "password": TEST_PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = client.get("/audit", params={"entity": "meter_asset"})
    assert page.status_code == 200
    assert inside.serial in page.text and outside.serial not in page.text
    assert outside.serial not in client.get("/audit").text
