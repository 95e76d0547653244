"""The cash desk over HTTP: one open session per cashier, agency and day (the database's
index), takings by instrument, a cancellation approved by a supervisor, bank deposits, the
count by denomination with its difference, receipts and duplicates, the supervisor view."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.billing.payments.helpers import assert_books_hold, balance, invoice, make_account
from tests.conftest import bearer

DAY = "2025-03-14"


def _key(token: str, key: str) -> dict[str, str]:
    return {**bearer(token), "Idempotency-Key": key}


@pytest.fixture()
def desk(client, db, make_user):
    account = make_account(db)
    invoice(db, account, 30000, date(2025, 2, 28), "F-DESK-1")
    db.commit()
    cashier = make_user("cashier", agency="AG-DESK")
    opened = client.post(
        "/api/v1/cash-sessions",
        json={"business_date": DAY, "opening_float": 5000},
        headers=bearer(cashier),
    )
    assert opened.status_code == 201, opened.text
    return account, cashier, opened.json()["session"]["id"]


def _take(client, cashier, account, session_id, amount, instrument="cash", key=None):
    body = {
        "customer_account_id": account.id,
        "amount": amount,
        "instrument": instrument,
        "cash_session_id": session_id,
    }
    answer = client.post(
        "/api/v1/payments", json=body, headers=_key(cashier, key or f"{instrument}-{amount}")
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_cashier_has_one_open_session_per_agency_and_day(client, db, desk, make_user) -> None:
    _account, cashier, _session_id = desk
    again = client.post(
        "/api/v1/cash-sessions", json={"business_date": DAY}, headers=bearer(cashier)
    )
    assert (again.status_code, again.json()["code"]) == (409, "cash_session_already_open")
    # Another day is another session.
    other_day = client.post(
        "/api/v1/cash-sessions", json={"business_date": "2025-03-15"}, headers=bearer(cashier)
    )
    assert other_day.status_code == 201


def test_the_database_refuses_a_second_open_session(db, desk) -> None:
    _account, _cashier, session_id = desk
    copy = text(
        "INSERT INTO billing_cash_session (cashier_id, agency_id, business_date, currency) "
        "SELECT cashier_id, agency_id, business_date, currency FROM billing_cash_session "
        "WHERE id = :id"
    )
    with pytest.raises(IntegrityError, match="uq_billing_cash_session_open"), db.begin_nested():
        db.execute(copy, {"id": session_id})


def test_a_day_at_the_desk(client, db, desk, make_user) -> None:
    account, cashier, session_id = desk
    _take(client, cashier, account, session_id, 12000)
    wrong = _take(client, cashier, account, session_id, 3500)
    _take(client, cashier, account, session_id, 8000, instrument="card")
    # Another cashier cannot use this desk.
    intruder = make_user("cashier", agency="AG-DESK")
    refused = client.post(
        "/api/v1/payments",
        json={"customer_account_id": account.id, "amount": 100, "cash_session_id": session_id},
        headers=_key(intruder, "intruder"),
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "cash_session_not_yours")
    view = client.get(f"/api/v1/cash-sessions/{session_id}", headers=bearer(cashier)).json()
    assert view["takings"] == {"cash": 15500, "card": 8000}  # 12000 + 3500 cash, 8000 card
    assert view["expected_cash"] == 5000 + 15500  # float + cash takings

    # A wrong payment: the cashier asks, a supervisor (not the cashier) approves.
    asked = client.post(
        f"/api/v1/payments/{wrong['id']}/cancellation",
        json={"reason": "wrong account"},
        headers=bearer(cashier),
    )
    assert asked.status_code == 201, asked.text
    cancellation = asked.json()["id"]
    denied = client.post(f"/api/v1/cancellations/{cancellation}/approve", headers=bearer(cashier))
    assert denied.status_code == 403  # a cashier holds no payments:approve
    supervisor = make_user("manager", agency="AG-DESK")
    approved = client.post(
        f"/api/v1/cancellations/{cancellation}/approve", headers=bearer(supervisor)
    )
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    payment = client.get(f"/api/v1/payments/{wrong['id']}", headers=bearer(cashier)).json()
    assert payment["status"] == "reversed"
    assert balance(db, account) == 30000 - 12000 - 8000  # 10000: the 3500 is owed again

    # Takings to the bank: 10000 of the 12000 cash; 3000 more is more than is left (2000).
    deposit = client.post(
        f"/api/v1/cash-sessions/{session_id}/deposits",
        json={"amount": 10000, "bank_reference": "SLIP-0042", "deposited_on": DAY},
        headers=_key(cashier, "dep-1"),
    )
    assert deposit.status_code == 201, deposit.text
    too_much = client.post(
        f"/api/v1/cash-sessions/{session_id}/deposits",
        json={"amount": 3000, "bank_reference": "SLIP-0043", "deposited_on": DAY},
        headers=_key(cashier, "dep-2"),
    )
    assert (too_much.status_code, too_much.json()["code"]) == (422, "deposit_invalid")

    # Expected: 5000 float + 12000 cash - 10000 deposited = 7000; counted 5000 + 1000 + 500.
    closed = client.post(
        f"/api/v1/cash-sessions/{session_id}/close",
        json={
            "count": [
                {"denomination": 5000, "pieces": 1},
                {"denomination": 1000, "pieces": 1},
                {"denomination": 500, "pieces": 1},
                {"denomination": 100, "pieces": 0},
            ]
        },
        headers=bearer(cashier),
    )
    assert closed.status_code == 200, closed.text
    session = closed.json()["session"]
    assert (session["status"], session["counted_cash"], session["expected_cash"]) == (
        "closed",
        6500,
        7000,
    )
    assert session["difference"] == -500  # 6500 - 7000: 500 missing
    assert session["count"] == {"5000": 1, "1000": 1, "500": 1}
    late = client.post(
        "/api/v1/payments",
        json={"customer_account_id": account.id, "amount": 100, "cash_session_id": session_id},
        headers=_key(cashier, "late"),
    )
    assert (late.status_code, late.json()["code"]) == (409, "cash_session_closed")

    # The supervisor sees every desk of the day.
    desks = client.get(
        "/api/v1/cash-sessions", params={"business_date": DAY}, headers=bearer(supervisor)
    ).json()
    mine = next(d for d in desks if d["session"]["id"] == session_id)
    assert (mine["takings"], mine["reversed"], mine["deposited"]) == (
        {"cash": 12000, "card": 8000},
        1,
        10000,
    )
    assert_books_hold(db)


def test_a_count_names_real_notes_and_coins(client, desk) -> None:
    _account, cashier, session_id = desk
    odd = client.post(
        f"/api/v1/cash-sessions/{session_id}/close",
        json={"count": [{"denomination": 3000, "pieces": 1}]},
        headers=bearer(cashier),
    )
    assert (odd.status_code, odd.json()["code"]) == (422, "cash_count_invalid")


def test_receipts_and_duplicates(client, desk) -> None:
    account, cashier, session_id = desk
    payment = _take(client, cashier, account, session_id, 12000)
    pdf = client.post(f"/api/v1/payments/{payment['id']}/receipt", headers=bearer(cashier))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    thermal = client.post(
        f"/api/v1/payments/{payment['id']}/receipt",
        params={"layout": "thermal"},
        headers=bearer(cashier),
    )
    assert thermal.content.startswith(b"%PDF")
    slip = client.post(
        f"/api/v1/payments/{payment['id']}/receipt",
        params={"layout": "text"},
        headers=bearer(cashier),
    ).text
    assert "DUPLICATA (2)" in slip  # the third print: two were printed before
    assert payment["number"] in slip
    assert max(len(line) for line in slip.splitlines()) <= 42
    assert "12" in slip and "000" in slip  # 12 000 F CFA, as babel formats it
