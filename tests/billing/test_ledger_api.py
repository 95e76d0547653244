"""The ledger API: the chart of accounts and a customer account's statement. The territory
rule on the statement (404 outside) is proven by the permission matrix (``account_id``)."""

from __future__ import annotations

from datetime import date

from tests.billing.test_ledger import invoice, make_account, payment
from tests.conftest import bearer


def test_a_statement_shows_opening_running_and_closing_balances(client, db, make_user) -> None:
    account = make_account(db)
    invoice(db, account, 11800, date(2025, 1, 31), "F-0101")  # opening 11800
    invoice(db, account, 5900, date(2025, 2, 28), "F-0201")  # 11800 + 5900 = 17700
    payment(db, account, 17000, date(2025, 3, 5))  # 17700 - 17000 = 700
    db.commit()
    cashier = bearer(make_user("cashier"))
    answer = client.get(
        f"/api/v1/accounts/{account.id}/statement",
        params={"date_from": "2025-02-01", "date_to": "2025-03-31"},
        headers=cashier,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["opening"] == {"XOF": 11800}
    assert [(x["entry_date"], x["kind"], x["source_ref"], x["amount"], x["balance"]) for x in
            body["lines"]] == [
        ("2025-02-28", "invoice", "F-0201", 5900, 17700),
        ("2025-03-05", "payment", None, -17000, 700),
    ]  # fmt: skip
    assert body["closing"] == {"XOF": 700}


def test_the_statement_needs_billing_read_and_a_known_account(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    path = f"/api/v1/accounts/{account.id}/statement"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(make_user("technician"))).status_code == 403
    desk = bearer(make_user("customer_desk"))
    empty = client.get(path, headers=desk).json()
    assert (empty["opening"], empty["lines"], empty["closing"]) == ({}, [], {})
    missing = client.get("/api/v1/accounts/987654321/statement", headers=desk)
    assert (missing.status_code, missing.json()["code"]) == (404, "account_not_found")
    backwards = client.get(
        path, params={"date_from": "2025-03-01", "date_to": "2025-02-01"}, headers=desk
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "validation_failed")


def test_the_chart_of_accounts_is_listed(client, make_user) -> None:
    answer = client.get("/api/v1/ledger/accounts", headers=bearer(make_user("manager")))
    assert answer.status_code == 200
    chart = {a["code"]: (a["kind"], a["per_customer_account"]) for a in answer.json()}
    assert chart["receivable"] == ("asset", True)
    assert chart["tax:vat"] == ("liability", False)
