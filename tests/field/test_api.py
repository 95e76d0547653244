"""The field API: rounds, stops, work orders and seals over HTTP, problem+json codes, and
the territory rule (another agency's rounds and orders are not found; nothing is created
or linked outside the caller's territory)."""

from __future__ import annotations

from sqlalchemy import select

from core.auth.models import Agency, User
from field import service
from field.schemas import TechnicianCreate
from tests.conftest import bearer
from tests.field.conftest import OFFICE
from tests.support.territory import east_agency

EAST_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[2.44, 6.34], [2.47, 6.34], [2.47, 6.36], [2.44, 6.36], [2.44, 6.34]]],
}
WEST_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[2.09, 6.49], [2.12, 6.49], [2.12, 6.51], [2.09, 6.51], [2.09, 6.49]]],
}
PROBLEM = "application/problem+json"


def _technician(db, make_user, agency: str) -> tuple[int, str]:
    token = make_user("technician", agency=agency, username="field-api-tech")
    user = db.scalars(select(User).where(User.username == "field-api-tech")).one()
    technician = service.create_technician(
        db,
        actor=OFFICE,
        data=TechnicianCreate(
            user_id=user.id, code="FIELD-API-TECH", skills=["reading", "sealing", "disconnection"]
        ),
    )
    db.commit()
    return technician.id, token


def test_round_over_http_and_territory(db, client, make_user, make_stop) -> None:
    code = east_agency(db, "FIELD-EAST")
    east_id = db.scalar(select(Agency.id).where(Agency.code == code))
    inside = make_stop(2.45, 6.35, reads=[])
    make_stop(2.455, 6.35)
    outside = make_stop(2.10, 6.50)
    db.commit()
    head = bearer(make_user("fraud_analyst"))
    east = bearer(make_user("fraud_analyst", agency=code))
    technician_id, tech_token = _technician(db, make_user, code)
    tech = bearer(tech_token)

    built = client.post(
        "/api/v1/field/rounds",
        headers=east,
        json={
            "period_start": "2025-04-01",
            "by": "polygon",
            "polygon": EAST_POLYGON,
            "technician_id": technician_id,
        },
    )
    assert built.status_code == 201, built.text
    assert (built.json()["agency_id"], built.json()["route_version"], built.json()["status"]) == (
        east_id,
        2,
        "assigned",
    )
    items = client.get(f"/api/v1/field/rounds/{built.json()['id']}/items", headers=tech).json()
    assert [i["sequence"] for i in items] == [1, 2]
    assert items[0]["usage_point_id"] == inside.usage_point.id  # the western of the two first
    assert items[0]["expected"]["total"]["previous"] == "1000"

    # The east analyst's polygon over the west finds nothing it may see.
    refused = client.post(
        "/api/v1/field/rounds",
        headers=east,
        json={"period_start": "2025-04-01", "by": "polygon", "polygon": WEST_POLYGON},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "round_empty")
    assert refused.headers["content-type"].startswith(PROBLEM)
    # Head office builds the west round (no agency): the east analyst does not see it.
    west = client.post(
        "/api/v1/field/rounds",
        headers=head,
        json={"period_start": "2025-04-01", "by": "polygon", "polygon": WEST_POLYGON},
    )
    assert west.status_code == 201, west.text
    assert client.get(f"/api/v1/field/rounds/{west.json()['id']}", headers=east).status_code == 404
    assert [r["id"] for r in client.get("/api/v1/field/rounds", headers=east).json()["items"]] == [
        built.json()["id"]
    ]
    # Nor may it build for another agency, or order work outside its territory.
    other_agency = client.post(
        "/api/v1/field/rounds",
        headers=east,
        json={
            "period_start": "2025-05-01",
            "by": "polygon",
            "polygon": EAST_POLYGON,
            "agency_id": east_id + 1000,
        },
    )
    assert (other_agency.status_code, other_agency.json()["code"]) == (403, "outside_territory")
    order = client.post(
        "/api/v1/field/work-orders",
        headers=east,
        json={"kind": "cut", "usage_point_id": outside.usage_point.id},
    )
    assert (order.status_code, order.json()["code"]) == (403, "outside_territory")

    # The reader reads the first stop, skips the second; a second read is a 409.
    first, second = items
    read = client.post(
        f"/api/v1/field/round-items/{first['id']}/reading",
        headers=tech,
        json={
            "values": {"total": "1090"},
            "read_at": "2025-04-01T10:00:00Z",
            "gps": {"lon": 2.45, "lat": 6.35, "accuracy_m": 5},
        },
    )
    assert read.status_code == 201, read.text
    assert (
        read.json()["item"]["status"],
        read.json()["reading_status"],
        read.json()["re_read_work_order_id"],
    ) == ("read", "accepted", None)
    again = client.post(
        f"/api/v1/field/round-items/{first['id']}/reading",
        headers=tech,
        json={"values": {"total": "1091"}, "read_at": "2025-04-01T11:00:00Z"},
    )
    assert (again.status_code, again.json()["code"]) == (409, "round_item_done")
    skipped = client.post(
        f"/api/v1/field/round-items/{second['id']}/skip",
        headers=tech,
        json={"code": "dog", "at": "2025-04-01T10:05:00Z"},
    )
    assert (skipped.status_code, skipped.json()["skip_code"]) == (200, "dog")
    progress = client.get(
        f"/api/v1/field/rounds/{built.json()['id']}/progress", headers=east
    ).json()
    assert (progress["read"], progress["skipped"], progress["pending"]) == (1, 1, 0)
    assert progress["by_reader"] == [
        {"technician_id": technician_id, "pending": 0, "read": 1, "skipped": 1}
    ]
    # A technician cannot plan.
    assert (
        client.post(
            "/api/v1/field/rounds",
            headers=tech,
            json={"period_start": "2025-04-01", "by": "polygon", "polygon": EAST_POLYGON},
        ).status_code
        == 403
    )


def test_work_order_and_seal_problems(db, client, make_user, make_stop) -> None:
    code = east_agency(db, "FIELD-EAST2")
    stop = make_stop(2.45, 6.35)
    db.commit()
    east = bearer(make_user("fraud_analyst", agency=code))
    technician_id, tech_token = _technician(db, make_user, code)
    tech = bearer(tech_token)
    order = client.post(
        "/api/v1/field/work-orders",
        headers=east,
        json={"kind": "cut", "usage_point_id": stop.usage_point.id},
    )
    assert order.status_code == 201, order.text
    wo = order.json()["id"]
    assert (
        client.post(
            f"/api/v1/field/work-orders/{wo}/start",
            headers=tech,
            json={"at": "2025-04-01T08:00:00Z"},
        ).json()["code"]
        == "work_order_transition_invalid"
    )
    assigned = client.post(
        f"/api/v1/field/work-orders/{wo}/assign",
        headers=east,
        json={"technician_id": technician_id},
    )
    assert assigned.json()["status"] == "assigned"
    done = client.post(
        f"/api/v1/field/work-orders/{wo}/complete",
        headers=tech,
        json={"completed_at": "2025-04-01T09:00:00Z"},
    )
    assert done.status_code == 200, done.text
    detail = client.get(f"/api/v1/field/work-orders/{wo}", headers=east).json()
    assert [h["event"] for h in detail["history"]] == ["create", "assign", "start", "complete"]
    assert detail["outcome"]["connection_state"] == "disconnected"

    batch = client.post(
        "/api/v1/field/seal-batches",
        headers=east,
        json={
            "code": "FIELD-B1",
            "kind": "plastic",
            "prefix": "E-",
            "first_number": 1,
            "last_number": 3,
            "digits": 4,
            "received_at": "2025-03-01T00:00:00Z",
        },
    )
    assert (batch.status_code, batch.json()["stock"]) == (201, {"in_stock": 3})
    issued = client.post(
        "/api/v1/field/seals/issue",
        headers=east,
        json={"technician_id": technician_id, "numbers": ["E-0001"], "at": "2025-03-02T00:00:00Z"},
    )
    assert [s["status"] for s in issued.json()] == ["issued"]
    body = {
        "number": "E-0001",
        "visit": {"work_order_id": wo},
        "position": "breaker",
        "at": "2025-04-01T09:00:00Z",
    }
    assert client.post("/api/v1/field/seals/apply", headers=tech, json=body).status_code == 201
    twice = client.post("/api/v1/field/seals/apply", headers=tech, json=body)
    assert (twice.status_code, twice.json()["code"]) == (409, "seal_already_applied")
    no_visit = client.post("/api/v1/field/seals/apply", headers=tech, json={**body, "visit": {}})
    assert no_visit.status_code == 422
    stock = client.get("/api/v1/field/seal-batches", headers=east).json()
    assert stock[0]["stock"] == {"applied": 1, "in_stock": 2}
