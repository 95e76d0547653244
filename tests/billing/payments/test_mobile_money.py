"""Mobile-money callbacks: authenticated as the operator (HMAC signature or allowlisted
address, never a staff token), validated by bill reference, confirmed once per transaction
id whatever the retries, unmatched ones queued; the operator's daily statement
(data/mobile_money_statement.csv) reconciled with what is missing on either side."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from billing.payments import mobile_money
from billing.payments.models import Payment
from core.settings import get_settings
from tests.billing.payments.helpers import assert_books_hold, balance, make_account
from tests.conftest import bearer

SECRET = "operator-shared-secret"
STATEMENT = Path(__file__).parent / "data" / "mobile_money_statement.csv"


@pytest.fixture(autouse=True)
def operator_secret(monkeypatch):
    monkeypatch.setattr(get_settings(), "mobile_money_secret", SECRET)
    monkeypatch.setattr(get_settings(), "mobile_money_allowlist", [])


def signed(body: dict) -> dict:
    content = json.dumps(body).encode()
    return {
        "content": content,
        "headers": {
            "Content-Type": "application/json",
            "X-Kilowatch-Signature": mobile_money.signature(SECRET, content),
        },
    }


def mpesa(trans_id: str, amount: str, ref: str, time: str = "20260215093000") -> dict:
    return {
        "TransactionType": "Pay Bill",
        "TransID": trans_id,
        "TransTime": time,
        "TransAmount": amount,
        "BusinessShortCode": "600638",
        "BillRefNumber": ref,
        "MSISDN": "22997000000",
        "FirstName": "Awa",
        "LastName": "Dossou",
    }


def test_callbacks_need_the_operator_not_a_staff_token(client, db, make_user) -> None:
    body = mpesa("QKA0000001", "5000", "0000000018")
    bare = client.post("/api/v1/mobile-money/mpesa/confirmation", json=body)
    assert (bare.status_code, bare.json()["code"]) == (401, "operator_not_authenticated")
    staff = client.post(
        "/api/v1/mobile-money/mpesa/confirmation", json=body, headers=bearer(make_user("admin"))
    )
    assert staff.status_code == 401
    forged = signed(body)
    forged["headers"]["X-Kilowatch-Signature"] = mobile_money.signature("wrong", forged["content"])
    assert client.post("/api/v1/mobile-money/mpesa/confirmation", **forged).status_code == 401
    # The signature covers the bytes: a body changed after signing is refused.
    tampered = signed(body)
    tampered["content"] = tampered["content"].replace(b"5000", b"9000")
    assert client.post("/api/v1/mobile-money/mpesa/confirmation", **tampered).status_code == 401


def test_an_allowlisted_address_needs_no_signature(monkeypatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "mobile_money_allowlist", ["196.201.214.0/24"])
    assert mobile_money.verify_operator(b"{}", None, "196.201.214.200")
    assert not mobile_money.verify_operator(b"{}", None, "196.201.215.1")
    assert not mobile_money.verify_operator(b"{}", None, "testclient")


def test_validation_accepts_a_known_account_only(client, db) -> None:
    account = make_account(db)
    db.commit()
    ok = client.post(
        "/api/v1/mobile-money/mpesa/validation", **signed(mpesa("QKV1", "5000", account.number))
    )
    assert ok.json() == {"ResultCode": "0", "ResultDesc": "Accepted"}
    unknown = client.post(
        "/api/v1/mobile-money/mpesa/validation", **signed(mpesa("QKV2", "5000", "nobody"))
    )
    assert unknown.json()["ResultCode"] == "C2B00012"
    assert balance(db, account) == 0  # a validation posts nothing


def test_a_confirmation_sent_three_times_is_posted_once(client, db) -> None:
    account = make_account(db)
    db.commit()
    body = mpesa("QKA0000001", "5000", account.number)
    answers = [
        client.post("/api/v1/mobile-money/mpesa/confirmation", **signed(body)) for _ in range(3)
    ]
    assert [a.json()["ResultCode"] for a in answers] == ["0", "0", "0"]
    posted = db.scalar(
        select(func.count()).select_from(Payment).where(Payment.external_id == "QKA0000001")
    )
    assert posted == 1
    payment = db.scalars(select(Payment).where(Payment.external_id == "QKA0000001")).one()
    assert (payment.channel, payment.instrument, payment.amount) == (
        "mobile_money",
        "mobile_money",
        5000,
    )
    assert payment.value_date == date(2026, 2, 15)  # 09:30 in Porto-Novo
    assert balance(db, account) == -5000
    assert_books_hold(db)


def test_the_aggregator_style_and_the_unmatched_queue(client, db) -> None:
    account = make_account(db)
    db.commit()
    body = {
        "operator": "mtn-momo",
        "transaction_id": "MOMO-778",
        "amount": "2500",
        "currency": "XOF",
        "reference": f"compte {account.number}",
        "msisdn": "22996000000",
        "paid_at": "2026-02-15T10:00:00Z",
    }
    first = client.post("/api/v1/mobile-money/aggregator/confirmation", **signed(body)).json()
    assert (first["status"], first["customer_account_id"]) == ("posted", account.id)
    again = client.post("/api/v1/mobile-money/aggregator/confirmation", **signed(body)).json()
    assert (again["status"], again["payment_id"]) == ("duplicate", first["payment_id"])
    lost = {**body, "transaction_id": "MOMO-779", "reference": "???"}
    queued = client.post("/api/v1/mobile-money/aggregator/confirmation", **signed(lost)).json()
    assert queued["status"] == "queued"
    assert (
        client.post("/api/v1/mobile-money/aggregator/confirmation", **signed(lost)).json()["status"]
        == "duplicate"
    )
    assert balance(db, account) == -2500
    assert_books_hold(db)


def test_the_daily_statement_is_reconciled(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    for trans_id, amount, ref in (
        ("QKA0000001", "5000", account.number),  # in the statement, same amount
        ("QKA0000002", "2500", account.number),  # the statement says 2600
        ("QKA0000003", "1000", "unknown-ref"),  # queued here, absent from the statement
    ):
        client.post(
            "/api/v1/mobile-money/mpesa/confirmation", **signed(mpesa(trans_id, amount, ref))
        )
    answer = client.post(
        "/api/v1/mobile-money/reconciliations",
        params={"day": "2026-02-15"},
        files={"file": ("statement.csv", STATEMENT.read_bytes(), "text/csv")},
        headers=bearer(make_user("cashier")),
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["matched"] == 1  # QKA0000001
    assert report["amount_differs"] == [
        {"transaction_id": "QKA0000002", "ours": 2500, "theirs": 2600}
    ]
    # QKA0000009 was paid at the operator and never reached Kilowatch; QKA0000010 is
    # another day's.
    assert [x["transaction_id"] for x in report["missing_in_kilowatch"]] == ["QKA0000009"]
    assert report["missing_in_statement"] == [{"transaction_id": "QKA0000003", "amount": 1000}]
