"""Collections over HTTP: a policy, an account's file, the cut list (JSON, CSV, page),
a write-off asked by one person and approved by another, scopes and territory."""

from __future__ import annotations

from datetime import date

from billing.collections import service
from core.context import SYSTEM
from tests.billing.collections.helpers import DUE, books_hold, nights
from tests.billing.payments.helpers import balance, invoice, make_account
from tests.conftest import bearer

POLICY = {
    "code": "api-residential",
    "name": "Residential (API)",
    "interest_rate": "0",
    "steps": [
        {"code": "reminder", "delay": 3, "channel": "sms"},
        {"code": "cut", "delay": 20, "channel": "field_visit", "action": "cut_eligible"},
    ],
}


def test_policy_file_cut_list_and_write_off_over_http(client, db, make_user) -> None:
    officer = bearer(make_user("billing_officer"))
    manager = bearer(make_user("manager"))
    cashier = bearer(make_user("cashier"))
    created = client.post("/api/v1/collections/policies", json=POLICY, headers=officer)
    assert created.status_code == 201, created.text
    assert [s["position"] for s in created.json()["steps"]] == [1, 2]
    assert client.get("/api/v1/collections/policies", headers=cashier).status_code == 403
    account = make_account(db)
    invoice(db, account, 20_000, DUE, "F-API-C1")
    # 3 calendar days after 30 April: 3 May; 20 days: 20 May.
    nights(db, date(2026, 5, 1), date(2026, 5, 21))
    db.commit()
    file = client.get(f"/api/v1/collections/accounts/{account.id}", headers=officer).json()
    assert [(a["position"], a["done_on"]) for a in file["actions"]] == [
        (1, "2026-05-03"),
        (2, "2026-05-20"),
    ]
    assert file["status"] == "overdue" and file["overdue_amount"] == 20_000
    listed = client.get(
        "/api/v1/collections/cut-eligible", params={"on": "2026-05-21"}, headers=officer
    ).json()
    assert listed["total"] == 1 and listed["items"][0]["customer_account_id"] == account.id
    csv_text = client.get(
        "/api/v1/collections/cut-eligible.csv", params={"on": "2026-05-21"}, headers=officer
    ).text
    assert csv_text.splitlines()[0].startswith("customer_account_id,account_number")
    assert len(csv_text.splitlines()) == 2
    page = client.get("/collections/cut-eligible?on=2026-05-21", headers=officer)
    assert page.status_code == 200 and account.number in page.text
    assert client.get(f"/collections/accounts/{account.id}", headers=officer).status_code == 200
    assert client.get("/collections/policies", headers=officer).status_code == 200
    asked = client.post(
        "/api/v1/collections/write-offs",
        json={"customer_account_id": account.id, "reason": "debtor deceased, no estate"},
        headers=officer,
    )
    assert asked.status_code == 201 and asked.json()["amount"] == 20_000
    write_off_id = asked.json()["id"]
    # The officer may not approve (no scope), the manager does.
    path = f"/api/v1/collections/write-offs/{write_off_id}/decision"
    body = {"approve": True, "on": "2026-06-01"}
    assert client.post(path, json=body, headers=officer).status_code == 403
    approved = client.post(path, json=body, headers=manager)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert client.post(path, json=body, headers=manager).status_code == 409
    assert balance(db, account) == 0  # 20 000 - 20 000 written off
    assert service.file_of(db, SYSTEM, account.id).status == "written_off"
    books_hold(db)


def test_an_account_outside_the_territory_is_not_found(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    outsider = bearer(make_user("billing_officer", agency="ZZ-ELSEWHERE"))
    answer = client.get(f"/api/v1/collections/accounts/{account.id}", headers=outsider)
    assert answer.status_code == 404
    hold = client.post(
        "/api/v1/collections/holds",
        json={
            "customer_account_id": account.id,
            "kind": "medical",
            "blocks": ["cut_eligible"],
            "start_date": "2026-01-01",
        },
        headers=outsider,
    )
    assert hold.status_code == 422 and hold.json()["code"] == "reference_unknown"
