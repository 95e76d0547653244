"""Collections over HTTP: a policy, an account's file, the cut list (JSON, CSV, page),
a write-off asked by one person and approved by another, scopes. Territory (404 / 422
reference_unknown outside it) is proved by the permission matrix."""

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
    officer_token = make_user("billing_officer")
    officer = bearer(officer_token)
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
    client.cookies.set("kw_token", officer_token)  # pages read the session cookie
    page = client.get("/collections/cut-eligible?on=2026-05-21")
    assert page.status_code == 200 and account.number in page.text
    file_page = client.get(f"/collections/accounts/{account.id}")
    assert file_page.status_code == 200 and "cut eligible" in file_page.text
    assert "api-residential" in client.get("/collections/policies").text
    client.cookies.clear()
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
