"""Customers API end to end: registration with duplicate hints, merge, premises with the
inherited electrical address, move-in/move-out with the 409 problem, cases and task lists,
search, territory; 401/403/422 problems that write nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.auth.models import Agency, User
from customers.models import Case, Contract, Party, PartyPhone, ServiceLocation
from gis.models import Feeder, NetworkNode, PowerTransformer, ServicePoint
from tests.conftest import bearer

PROBLEM = "application/problem+json"
KOFFI = {
    "kind": "person",
    "first_name": "Koffi",
    "last_name": "Mensah",
    "phones": [{"number": "+229 97 12 34 56"}],
}
KOFI = {
    "kind": "person",
    "first_name": "Kofi",
    "last_name": "Mensah",
    "phones": [{"number": "97123456"}],
}


def _counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (Party, PartyPhone, ServiceLocation, Contract, Case, AuditLog)
    )


def _premises(client: TestClient, token: str, **extra: Any) -> tuple[dict, dict]:
    location = client.post(
        "/api/v1/premises",
        headers=bearer(token),
        json={
            "address_line": "Rue 1024, Akpakpa",
            "city": "Cotonou",
            "location": {"type": "Point", "coordinates": [2.45, 6.36]},
            **extra,
        },
    )
    assert location.status_code == 201, location.text
    usage_point = client.post(
        "/api/v1/usage-points",
        headers=bearer(token),
        json={
            "service_location_id": location.json()["id"],
            "category": "residential",
            "subscribed_power_kva": "3.3",
        },
    )
    assert usage_point.status_code == 201, usage_point.text
    return location.json(), usage_point.json()


def test_401_403_422_are_problems_and_write_nothing(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    reader = make_user("cashier")  # customers:read only
    before = _counts(db)
    response = client.post("/api/v1/customers", json=KOFFI)
    assert (response.status_code, response.headers["content-type"]) == (401, PROBLEM)
    assert response.json()["code"] == "not_authenticated"
    response = client.post("/api/v1/customers", json=KOFFI, headers=bearer(reader))
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    writer = make_user("customer_desk")
    before = _counts(db)
    response = client.post(
        "/api/v1/customers", headers=bearer(writer), json={**KOFFI, "phones": [{"number": "1234"}]}
    )
    assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM)
    body = response.json()
    assert body["code"] == "phone_invalid"
    assert body["errors"] == [
        {"field": "phones/0/number", "message": "not a valid phone number", "code": "phone_invalid"}
    ]
    response = client.post(
        "/api/v1/customers",
        headers=bearer(writer),
        json={"kind": "person", "last_name": "x\u0000y"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")
    response = client.get("/api/v1/customers/99999999999999999999", headers=bearer(writer))
    assert response.status_code == 422
    response = client.post(
        "/api/v1/premises",
        headers=bearer(writer),
        json={"location": {"type": "Point", "coordinates": [200, 6.3]}},
    )
    assert response.status_code == 422
    assert _counts(db) == before


def test_duplicate_flagged_on_create_then_merged_keeping_both_histories(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    token = make_user("customer_desk")
    first = client.post("/api/v1/customers", headers=bearer(token), json=KOFFI)
    assert first.status_code == 201, first.text
    assert first.json()["likely_duplicates"] == []
    assert first.json()["phones"][0]["e164"] == "+2290197123456"
    second = client.post("/api/v1/customers", headers=bearer(token), json=KOFI)
    assert second.status_code == 201
    first_id, second_id = first.json()["id"], second.json()["id"]
    assert second.json()["likely_duplicates"] == [
        {
            "party_id": first_id,
            "display_name": "Koffi Mensah",
            "score": 0.721,
            "name_similarity": 0.786,
            "reasons": ["name", "phone"],
        }
    ]
    on_demand = client.get(f"/api/v1/customers/{first_id}/duplicates", headers=bearer(token))
    assert [d["party_id"] for d in on_demand.json()] == [second_id]

    _, up1 = _premises(client, token)
    _, up2 = _premises(client, token)
    contracts = []
    for party_id, up in ((first_id, up1), (second_id, up2)):
        moved_in = client.post(
            "/api/v1/contracts/move-in",
            headers=bearer(token),
            json={
                "usage_point_id": up["id"],
                "holder_party_id": party_id,
                "tariff_code": "BT-DOM",
                "start_date": "2025-01-01",
            },
        )
        assert moved_in.status_code == 201, moved_in.text
        contracts.append(moved_in.json()["id"])
        case = client.post(
            "/api/v1/cases",
            headers=bearer(token),
            json={"case_type": "complaint", "subject": "estimated bill", "party_id": party_id},
        )
        assert case.status_code == 201, case.text

    merged = client.post(
        f"/api/v1/customers/{first_id}/merge",
        headers=bearer(token),
        json={"duplicate_id": second_id, "reason": "typo at registration"},
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["moved"]["contracts"] == 1 and merged.json()["moved"]["cases"] == 1
    listed = client.get(f"/api/v1/contracts?party_id={first_id}", headers=bearer(token)).json()
    assert sorted(c["id"] for c in listed["items"]) == sorted(contracts)
    cases = client.get(f"/api/v1/cases?party_id={first_id}", headers=bearer(token)).json()
    assert cases["total"] == 2
    duplicate = client.get(f"/api/v1/customers/{second_id}", headers=bearer(token)).json()
    assert (duplicate["status"], duplicate["merged_into_id"]) == ("merged", first_id)
    admin = make_user("admin")
    trail = client.get(
        f"/api/v1/audit?entity=customer_party&key={second_id}", headers=bearer(admin)
    ).json()["items"]
    assert [(e["action"], e["reason"]) for e in trail][:1] == [("update", "typo at registration")]
    assert [e["action"] for e in trail][-1] == "insert"  # its creation is still there
    again = client.post(
        f"/api/v1/customers/{first_id}/merge",
        headers=bearer(token),
        json={"duplicate_id": second_id},
    )
    assert (again.status_code, again.json()["code"]) == (409, "party_merged")


def test_identical_identity_document_is_409(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    token = make_user("customer_desk")
    doc = {"document_type": "national_id", "number": "BJ-778899", "issuing_country": "BJ"}
    first = client.post(
        "/api/v1/customers", headers=bearer(token), json={**KOFFI, "identity_documents": [doc]}
    )
    assert first.status_code == 201
    before = _counts(db)
    second = client.post(
        "/api/v1/customers",
        headers=bearer(token),
        json={**KOFI, "identity_documents": [{**doc, "number": "bj 778899"}]},
    )
    assert (second.status_code, second.json()["code"]) == (409, "party_identity_document_exists")
    assert _counts(db) == before


def test_premises_inherit_feeder_and_transformer_from_the_network(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    feeder = Feeder(code="F-API-1", name="Akpakpa 1")
    db.add(feeder)
    db.flush()
    hv = NetworkNode(code="N-API-HV", location_precision="surveyed", feeder_id=feeder.id)
    lv = NetworkNode(code="N-API-LV", location_precision="surveyed", feeder_id=feeder.id)
    db.add_all([hv, lv])
    db.flush()
    transformer = PowerTransformer(
        code="T-API-1",
        rated_kva=160,
        hv_node_id=hv.id,
        lv_node_id=lv.id,
        feeder_id=feeder.id,
        geom=WKTElement("POINT(2.45 6.36)", srid=4326),
    )
    db.add(transformer)
    db.flush()
    point = ServicePoint(
        code="SP-API-1",
        kind="pole",
        node_id=lv.id,
        feeder_id=feeder.id,
        transformer_id=transformer.id,
        geom=WKTElement("POINT(2.4501 6.3601)", srid=4326),
    )
    db.add(point)
    db.commit()
    token = make_user("customer_desk")
    location, _ = _premises(client, token, service_point_id=point.id)
    read = client.get(f"/api/v1/premises/{location['id']}", headers=bearer(token)).json()
    assert (read["feeder_code"], read["transformer_code"], read["service_point_code"]) == (
        "F-API-1",
        "T-API-1",
        "SP-API-1",
    )
    assert read["location"] == {"type": "Point", "coordinates": [2.45, 6.36]}
    bad = client.post(
        "/api/v1/premises",
        headers=bearer(token),
        json={"location": {"type": "Point", "coordinates": [2.4, 6.3]}, "service_point_id": 987654},
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "reference_unknown")


def test_move_in_move_out_and_invalid_transition_problem(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    token = make_user("customer_desk")
    party = client.post("/api/v1/customers", headers=bearer(token), json=KOFFI).json()
    newcomer = client.post(
        "/api/v1/customers", headers=bearer(token), json={"kind": "person", "last_name": "Gandonou"}
    ).json()
    location, up = _premises(client, token)
    contract = client.post(
        "/api/v1/contracts/move-in",
        headers=bearer(token),
        json={
            "usage_point_id": up["id"],
            "holder_party_id": party["id"],
            "tariff_code": "BT-DOM",
            "start_date": "2025-01-01",
            "roles": [{"party_id": newcomer["id"], "role": "owner"}],
        },
    ).json()
    assert contract["status"] == "active"
    busy = client.post(
        "/api/v1/contracts/move-in",
        headers=bearer(token),
        json={
            "usage_point_id": up["id"],
            "holder_party_id": newcomer["id"],
            "tariff_code": "BT-DOM",
            "start_date": "2025-02-01",
        },
    )
    assert (busy.status_code, busy.json()["code"]) == (409, "contract_overlap")
    out = client.post(
        f"/api/v1/contracts/{contract['id']}/move-out",
        headers=bearer(token),
        json={"end_date": "2025-06-30", "reason": "moving"},
    )
    assert (out.status_code, out.json()["status"], out.json()["end_date"]) == (
        200,
        "ended",
        "2025-06-30",
    )
    before = _counts(db)
    invalid = client.post(
        f"/api/v1/contracts/{contract['id']}/move-out",
        headers=bearer(token),
        json={"end_date": "2025-07-31"},
    )
    assert (invalid.status_code, invalid.headers["content-type"]) == (409, PROBLEM)
    assert invalid.json()["code"] == "contract_transition_invalid"
    assert _counts(db) == before
    steps = client.get(f"/api/v1/contracts/{contract['id']}/transitions", headers=bearer(token))
    assert [(s["event"], s["from_status"], s["to_status"]) for s in steps.json()] == [
        ("move_in", "pending", "active"),
        ("move_out", "active", "ended"),
    ]
    occupants = client.get(f"/api/v1/premises/{location['id']}/occupants", headers=bearer(token))
    assert [(o["party_id"], o["role"], o["end_date"]) for o in occupants.json()] == [
        (party["id"], "holder", "2025-06-30"),
        (party["id"], "payer", "2025-06-30"),
        (newcomer["id"], "owner", "2025-06-30"),
    ]


def test_case_tasks_for_me_and_my_group(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    desk = make_user("customer_desk", username="desk-tasks")
    officer = make_user("billing_officer", username="officer-tasks")
    officer_id = db.scalar(select(User.id).where(User.username == "officer-tasks"))
    rule = client.post(
        "/api/v1/cases/assignment-rules",
        headers=bearer(desk),
        json={"case_type": "dispute", "assignee_group": "billing_officer"},
    )
    assert rule.status_code == 201, rule.text
    dup_rule = client.post(
        "/api/v1/cases/assignment-rules",
        headers=bearer(desk),
        json={"case_type": "dispute", "assignee_group": "manager"},
    )
    assert (dup_rule.status_code, dup_rule.json()["code"]) == (409, "case_assignment_rule_exists")
    case = client.post(
        "/api/v1/cases",
        headers=bearer(desk),
        json={"case_type": "dispute", "subject": "contests March bill"},
    ).json()
    assert case["assignee_group"] == "billing_officer"
    group = client.get("/api/v1/cases/tasks?assignee=group", headers=bearer(officer)).json()
    assert [c["id"] for c in group["items"]] == [case["id"]]
    assert (
        client.get("/api/v1/cases/tasks?assignee=me", headers=bearer(officer)).json()["total"] == 0
    )
    taken = client.post(
        f"/api/v1/cases/{case['id']}/assign",
        headers=bearer(desk),
        json={"assignee_user_id": officer_id},
    )
    assert taken.status_code == 200
    mine = client.get("/api/v1/cases/tasks?assignee=me", headers=bearer(officer)).json()
    assert [c["id"] for c in mine["items"]] == [case["id"]]
    assert (
        client.get("/api/v1/cases/tasks?assignee=group", headers=bearer(officer)).json()["total"]
        == 0
    )
    resolved = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        headers=bearer(desk),
        json={"event": "resolve", "resolution": "bill corrected"},
    )
    assert resolved.json()["status"] == "resolved"
    bad = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        headers=bearer(desk),
        json={"event": "wait_customer"},
    )
    assert (bad.status_code, bad.json()["code"]) == (409, "case_transition_invalid")
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=bearer(desk)).json()
    assert [h["event"] for h in history] == ["open", "assign", "assign", "resolve"]
    assert (
        client.get("/api/v1/cases/tasks?assignee=me", headers=bearer(officer)).json()["total"] == 0
    )


def test_search_with_a_typo_and_territory_filtering(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    head_office = make_user("customer_desk")
    east = Agency(
        code="EAST-API",
        name="East",
        territory=WKTElement(
            "MULTIPOLYGON(((2.40 6.30, 2.50 6.30, 2.50 6.45, 2.40 6.45, 2.40 6.30)))", srid=4326
        ),
    )
    db.add(east)
    db.commit()
    east_clerk = make_user("customer_desk", agency="EAST-API")
    inside = client.post(
        "/api/v1/customers",
        headers=bearer(head_office),
        json={"kind": "person", "first_name": "Sènami", "last_name": "Houessou"},
    ).json()
    outside = client.post(
        "/api/v1/customers",
        headers=bearer(head_office),
        json={"kind": "person", "first_name": "Senami", "last_name": "Houesou"},
    ).json()
    _, up_in = _premises(client, head_office)
    location_out = client.post(
        "/api/v1/premises",
        headers=bearer(head_office),
        json={"location": {"type": "Point", "coordinates": [2.10, 6.50]}},
    ).json()
    up_out = client.post(
        "/api/v1/usage-points",
        headers=bearer(head_office),
        json={
            "service_location_id": location_out["id"],
            "category": "commercial",
            "subscribed_power_kva": "9",
        },
    ).json()
    for party, up in ((inside, up_in), (outside, up_out)):
        assert (
            client.post(
                "/api/v1/contracts/move-in",
                headers=bearer(head_office),
                json={
                    "usage_point_id": up["id"],
                    "holder_party_id": party["id"],
                    "tariff_code": "BT",
                    "start_date": "2025-01-01",
                },
            ).status_code
            == 201
        )

    found = client.get(
        "/api/v1/customers/search", params={"q": "senami houssou"}, headers=bearer(head_office)
    ).json()
    assert sorted(h["party_id"] for h in found["items"]) == sorted([inside["id"], outside["id"]])
    found = client.get(
        "/api/v1/customers/search", params={"q": "senami houssou"}, headers=bearer(east_clerk)
    ).json()
    assert [h["party_id"] for h in found["items"]] == [inside["id"]]
    assert found["total"] == 1
    hidden = client.get(f"/api/v1/customers/{outside['id']}", headers=bearer(east_clerk))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "party_not_found")
    hidden = client.get(f"/api/v1/premises/{location_out['id']}", headers=bearer(east_clerk))
    assert hidden.status_code == 404


def test_case_board_page_shows_columns_and_sla_badges(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from core.context import Actor
    from customers import service
    from customers.schemas import CaseCreate

    desk = Actor(user_id=None, username="desk", scopes=frozenset({"customers:write"}))
    late = service.open_case(
        db,
        actor=desk,
        data=CaseCreate(
            case_type="data_correction",
            subject="Wrong address on bill",
            opened_at=datetime.now(UTC) - timedelta(days=30),
        ),
    )
    fresh = service.open_case(
        db, actor=desk, data=CaseCreate(case_type="complaint", subject="Street light off")
    )
    db.commit()
    token = make_user("customer_desk")
    client.cookies.set("kw_token", token)
    page = client.get("/cases")
    assert page.status_code == 200
    assert 'href="/cases"' in page.text  # in the navigation
    assert page.text.count('data-testid="case-card"') == 2
    assert f'data-case-id="{late.id}"' in page.text and "Breached" in page.text
    assert "On time" in page.text
    only_complaints = client.get("/cases", params={"case_type": "complaint"})
    assert f'data-case-id="{fresh.id}"' in only_complaints.text
    assert f'data-case-id="{late.id}"' not in only_complaints.text
    assert "https://" not in page.text.split("<body")[0]
    client.cookies.clear()
    client.cookies.set("kw_token", make_user("technician"))  # customers:read only
    assert client.get("/cases").status_code == 200


def test_organisation_sites_hierarchy(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    token = make_user("customer_desk")
    org = client.post(
        "/api/v1/customers",
        headers=bearer(token),
        json={"kind": "organisation", "organisation_name": "Société Béninoise de Brasserie"},
    ).json()
    assert org["display_name"] == "Société Béninoise de Brasserie"
    site = client.post(
        "/api/v1/customers",
        headers=bearer(token),
        json={
            "kind": "organisation",
            "organisation_name": "SOBEBRA dépôt Parakou",
            "parent_party_id": org["id"],
        },
    )
    assert site.status_code == 201
    sites = client.get(
        "/api/v1/customers", params={"parent_party_id": org["id"]}, headers=bearer(token)
    ).json()
    assert [s["id"] for s in sites["items"]] == [site.json()["id"]]
    orphan = client.post(
        "/api/v1/customers",
        headers=bearer(token),
        json={"kind": "organisation", "organisation_name": "Nowhere", "parent_party_id": 987654321},
    )
    assert (orphan.status_code, orphan.json()["code"]) == (422, "reference_unknown")
    assert orphan.json()["errors"][0]["field"] == "parent_party_id"


def test_odd_but_valid_queries_never_answer_500(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = make_user("admin")
    for path in (
        "/api/v1/customers/search?q=%25%25",
        "/api/v1/customers/search?q=%27%3B--",
        "/api/v1/customers/search?q=%2B%2B%2B%2B",
        "/api/v1/customers/search?q=00000000000000000000",
        "/api/v1/customers?offset=1000000",
        "/api/v1/cases?status=open&status=resolved",
        "/api/v1/cases/tasks?assignee=group",
        "/api/v1/contracts?status=ended",
        "/api/v1/premises/1/occupants",
        "/api/v1/usage-points?service_location_id=1",
        "/api/v1/interactions?party_id=1",
        "/api/v1/accounts?payer_party_id=1",
        "/api/v1/customers/1/duplicates",
        "/api/v1/cases/assignment-rules",
    ):
        response = client.get(path, headers=bearer(token))
        assert response.status_code in (200, 404), (path, response.text)
    response = client.post(
        "/api/v1/cases",
        headers=bearer(token),
        json={"case_type": "complaint", "subject": "old", "opened_at": "0001-01-01T00:00:00Z"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "value_out_of_range")


def _east_and_west(db: Session) -> tuple[int, int, int]:
    """An agency with a territory over eastern Cotonou, one without, and a pole (network
    service point) in the west; their ids."""
    east = Agency(
        code="EAST-W",
        name="East",
        territory=WKTElement(
            "MULTIPOLYGON(((2.40 6.30, 2.50 6.30, 2.50 6.45, 2.40 6.45, 2.40 6.30)))", srid=4326
        ),
    )
    west = Agency(code="WEST-W", name="West")
    db.add_all([east, west])
    db.flush()
    pole_point = WKTElement("POINT(2.10 6.50)", srid=4326)
    node = NetworkNode(code="N-WEST-W", geom=pole_point)
    db.add(node)
    db.flush()
    west_pole = ServicePoint(code="SP-WEST-W", kind="pole", node_id=node.id, geom=pole_point)
    db.add(west_pole)
    db.commit()
    return east.id, west.id, west_pole.id  # read now: the requests close the session


INSIDE = {"type": "Point", "coordinates": [2.45, 6.36]}
OUTSIDE = {"type": "Point", "coordinates": [2.10, 6.50]}


def test_premises_of_a_territory_bound_clerk_stay_inside(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    """Not placed in the west, not hung on a western pole, not moved out; the refused
    requests write nothing."""
    _east, _west, pole_id = _east_and_west(db)
    clerk = make_user("customer_desk", agency="EAST-W")
    before = _counts(db)
    for body in ({"location": OUTSIDE}, {"location": INSIDE, "service_point_id": pole_id}):
        refused = client.post("/api/v1/premises", headers=bearer(clerk), json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "outside_territory")
    assert _counts(db) == before
    mine = client.post("/api/v1/premises", headers=bearer(clerk), json={"location": INSIDE})
    assert mine.status_code == 201, mine.text
    url = f"/api/v1/premises/{mine.json()['id']}"
    for change in ({"location": OUTSIDE}, {"service_point_id": pole_id}):
        moved = client.patch(url, headers=bearer(clerk), json=change)
        assert (moved.status_code, moved.json()["code"]) == (403, "outside_territory")
    kept = client.get(url, headers=bearer(clerk)).json()
    assert (kept["location"], kept["service_point_id"]) == (INSIDE, None)


def test_another_agencys_assignment_rules_cannot_be_read_or_changed(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    _east, west_id, _pole = _east_and_west(db)
    admin = make_user("admin")
    clerk = make_user("customer_desk", agency="EAST-W")
    theirs = client.post(
        "/api/v1/cases/assignment-rules",
        headers=bearer(admin),
        json={"case_type": "dispute", "agency_id": west_id, "assignee_group": "billing_officer"},
    ).json()
    listed = client.get("/api/v1/cases/assignment-rules", headers=bearer(clerk)).json()
    assert theirs["id"] not in [r["id"] for r in listed]
    gone = client.delete(f"/api/v1/cases/assignment-rules/{theirs['id']}", headers=bearer(clerk))
    assert (gone.status_code, gone.json()["code"]) == (404, "case_assignment_rule_not_found")
    refused = client.post(
        "/api/v1/cases/assignment-rules",
        headers=bearer(clerk),
        json={"case_type": "meter_check", "agency_id": west_id, "assignee_group": "technician"},
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "outside_territory")
    listed = client.get("/api/v1/cases/assignment-rules", headers=bearer(admin)).json()
    assert [(r["case_type"], r["agency_id"]) for r in listed] == [("dispute", west_id)]


def test_a_territory_bound_clerk_cannot_file_a_case_to_another_agency(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    east_id, west_id, _pole = _east_and_west(db)
    clerk = make_user("customer_desk", agency="EAST-W")
    before = _counts(db)
    refused = client.post(
        "/api/v1/cases",
        headers=bearer(clerk),
        json={"case_type": "complaint", "subject": "Coupure", "agency_id": west_id},
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "outside_territory")
    assert _counts(db) == before
    own = client.post(
        "/api/v1/cases",
        headers=bearer(clerk),
        json={"case_type": "complaint", "subject": "Coupure"},
    )
    assert (own.status_code, own.json()["agency_id"]) == (201, east_id)


def test_ids_and_offsets_beyond_bigint_are_422(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = make_user("admin")
    huge = 2**63
    for path in (
        f"/api/v1/customers/{huge}",
        f"/api/v1/customers/{huge}/360",
        f"/api/v1/premises/{huge}/360",
        f"/api/v1/premises/{huge}/occupants",
        f"/api/v1/usage-points/{huge}",
        f"/api/v1/accounts/{huge}",
        f"/api/v1/contracts/{huge}/transitions",
        f"/api/v1/cases/{huge}/history",
        f"/api/v1/interactions/{huge}",
        f"/api/v1/customers?parent_party_id={huge}",
        f"/api/v1/usage-points?service_location_id={huge}",
        f"/api/v1/contracts?party_id={huge}",
        f"/api/v1/cases?agency_id={huge}",
        "/api/v1/customers?offset=1000001",
        "/api/v1/cases?limit=201",
        f"/api/v1/interactions?offset={huge}",
    ):
        response = client.get(path, headers=bearer(token))
        assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM), path
    response = client.delete(f"/api/v1/cases/assignment-rules/{huge}", headers=bearer(token))
    assert response.status_code == 422
