"""Payments over HTTP: exactly once with an Idempotency-Key (a replay returns the first
answer, another body under the same key is refused, concurrent requests with one key are
serialised), a channel transaction id posted once, an account's position, reallocation."""

from __future__ import annotations

import threading
import uuid
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.payments.models import Payment
from core.idempotency import IdempotencyRecord
from tests.billing.payments.helpers import assert_books_hold, balance, invoice, make_account
from tests.conftest import bearer, process_database


def _payments(db: Session, account_id: int) -> int:
    query = select(func.count()).select_from(Payment)
    return int(db.scalar(query.where(Payment.customer_account_id == account_id)) or 0)


def _headers(token: str, key: str) -> dict[str, str]:
    return {**bearer(token), "Idempotency-Key": key}


def test_the_same_payment_sent_three_times_is_posted_once(client, db, make_user) -> None:
    account = make_account(db)
    invoice(db, account, 10000, date(2025, 1, 31), "F-API-1")
    db.commit()
    cashier = make_user("cashier")
    key = str(uuid.uuid4())
    body = {"customer_account_id": account.id, "amount": 4000, "currency": "XOF"}
    answers = [
        client.post("/api/v1/payments", json=body, headers=_headers(cashier, key)) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert "Idempotent-Replayed" not in answers[0].headers
    assert answers[2].headers["Idempotent-Replayed"] == "true"
    assert _payments(db, account.id) == 1
    assert balance(db, account) == 10000 - 4000  # one payment of 4000 against 10000
    # The same body in another key order and spacing is the same request.
    reordered = client.post(
        "/api/v1/payments",
        content=f'{{ "currency":"XOF", "amount": 4000, "customer_account_id": {account.id} }}',
        headers={**_headers(cashier, key), "Content-Type": "application/json"},
    )
    assert reordered.status_code == 201 and reordered.json() == answers[0].json()
    assert_books_hold(db)


def test_a_replay_with_a_different_body_is_refused(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    cashier = make_user("cashier")
    key = str(uuid.uuid4())
    body = {"customer_account_id": account.id, "amount": 4000, "currency": "XOF"}
    assert (
        client.post("/api/v1/payments", json=body, headers=_headers(cashier, key)).status_code
        == 201
    )
    other = client.post(
        "/api/v1/payments", json={**body, "amount": 5000}, headers=_headers(cashier, key)
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert other.headers["content-type"].startswith("application/problem+json")
    assert balance(db, account) == -4000


def test_keys_belong_to_their_caller_and_failures_are_not_stored(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    first, second = make_user("cashier"), make_user("cashier")
    key = "shared-key-1"
    body = {"customer_account_id": account.id, "amount": 1000, "currency": "XOF"}
    assert (
        client.post("/api/v1/payments", json=body, headers=_headers(first, key)).status_code == 201
    )
    # Another cashier's same key is their own: a second, distinct payment.
    assert (
        client.post("/api/v1/payments", json=body, headers=_headers(second, key)).status_code == 201
    )
    assert balance(db, account) == -2000
    # A refused request stores nothing: fixed, it goes through under the same key.
    bad = client.post(
        "/api/v1/payments",
        json={**body, "customer_account_id": 987654321},
        headers=_headers(first, "k2"),
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "reference_unknown")
    assert (
        client.post("/api/v1/payments", json=body, headers=_headers(first, "k2")).status_code == 201
    )
    stored = select(func.count()).select_from(IdempotencyRecord)
    assert db.scalar(stored.where(IdempotencyRecord.key.in_([key, "k2"]))) == 3


def test_the_key_is_required_and_checked(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    cashier = make_user("cashier")
    body = {"customer_account_id": account.id, "amount": 1000}
    missing = client.post("/api/v1/payments", json=body, headers=bearer(cashier))
    assert (missing.status_code, missing.json()["code"]) == (422, "validation_failed")
    blank = client.post("/api/v1/payments", json=body, headers=_headers(cashier, "   "))
    assert (blank.status_code, blank.json()["code"]) == (422, "idempotency_key_invalid")


def test_a_mobile_money_transaction_id_is_posted_once_over_http(client, db, make_user) -> None:
    account = make_account(db)
    db.commit()
    cashier = make_user("cashier")
    body = {
        "customer_account_id": account.id,
        "amount": 2500,
        "channel": "mobile_money",
        "instrument": "mobile_money",
        "external_id": "QKX9981",
    }
    assert (
        client.post("/api/v1/payments", json=body, headers=_headers(cashier, "a")).status_code
        == 201
    )
    again = client.post("/api/v1/payments", json=body, headers=_headers(cashier, "b"))
    assert (again.status_code, again.json()["code"]) == (409, "payment_duplicate")
    assert balance(db, account) == -2500
    assert_books_hold(db)


def test_position_and_reallocation_over_http(client, db, make_user) -> None:
    account = make_account(db)
    first = invoice(db, account, 10000, date(2025, 1, 31), "F-API-A")
    second = invoice(db, account, 6000, date(2025, 2, 28), "F-API-B")
    db.commit()
    cashier = make_user("cashier")
    body = {"customer_account_id": account.id, "amount": 7000}
    payment = client.post("/api/v1/payments", json=body, headers=_headers(cashier, "p1")).json()
    assert payment["unallocated"] == 0
    position = client.get(f"/api/v1/accounts/{account.id}/position", headers=bearer(cashier)).json()
    # 7000 pays F-API-A (oldest) in part: 10000 - 7000 = 3000; F-API-B 6000; balance 9000.
    assert {i["document_ref"]: i["open_amount"] for i in position["open_items"]} == {
        "F-API-A": 3000,
        "F-API-B": 6000,
    }
    assert (position["balance"], position["credit"]) == (9000, 0)
    moved = client.post(
        f"/api/v1/payments/{payment['id']}/reallocate",
        json={
            "reason": "pays the February bill",
            "targets": [{"item_id": second.id, "amount": 6000}],
        },
        headers=bearer(cashier),
    )
    assert moved.status_code == 200, moved.text
    position = client.get(f"/api/v1/accounts/{account.id}/position", headers=bearer(cashier)).json()
    # F-API-A open in full again, F-API-B paid, 7000 - 6000 = 1000 credit; 16000 - 1000 = ... 9000.
    assert {i["document_ref"]: i["open_amount"] for i in position["open_items"]} == {
        "F-API-A": 10000
    }
    assert (position["balance"], position["credit"]) == (9000, 1000)
    history = client.get(f"/api/v1/payments/{payment['id']}/allocations", headers=bearer(cashier))
    assert [(a["item_id"], a["amount"], a["release_reason"]) for a in history.json()] == [
        (first.id, 7000, "pays the February bill"),
        (second.id, 6000, None),
    ]
    assert_books_hold(db)


def test_concurrent_requests_with_one_key_are_serialised(
    committed_engine, committed_database_url
) -> None:
    """Real concurrent requests, each with its own session and transaction (so outside the
    test's rolled-back transaction: what they commit goes to the committed test database).
    The key lock makes the later ones wait for the first commit and replay its answer."""
    with process_database(committed_database_url):
        _concurrent_requests(committed_engine)


def _concurrent_requests(engine) -> None:
    from core.auth import service as auth
    from kilowatch.app import build_app
    from tests.conftest import TEST_PASSWORD

    setup = Session(engine)
    account = make_account(setup)
    name = f"conc-{uuid.uuid4().hex[:6]}"
    auth.create_user(setup, username=name, password=TEST_PASSWORD, roles=["cashier"])
    _u, token, _t = auth.authenticate(
        setup, username=name, password=TEST_PASSWORD, client_address="t"
    )
    setup.commit()
    app = build_app()
    body = {"customer_account_id": account.id, "amount": 1500}
    results: list[tuple[int, dict]] = []

    def send() -> None:
        with TestClient(app) as c:
            r = c.post("/api/v1/payments", json=body, headers=_headers(token, "concurrent-1"))
            results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert [s for s, _ in results] == [201, 201, 201]
        assert len({b["id"] for _, b in results}) == 1
        assert _payments(setup, account.id) == 1
    finally:
        setup.close()
