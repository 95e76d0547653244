"""The payment pages: a supervisor's view of the day's desks; the unmatched queue, where a
receipt is matched to an account by its number and posted once."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.payments import matching
from billing.payments.enums import Channel, Instrument
from core.auth.service import create_user
from core.context import SYSTEM
from tests.billing.payments.helpers import balance, make_account
from tests.conftest import TEST_PASSWORD, bearer


def _sign_in(client, db, username: str, role: str) -> None:
    create_user(db, username=username, password=TEST_PASSWORD, roles=[role])
    db.commit()
    answer = client.post(
        "/login", data={"username": username, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


def test_the_supervisor_sees_every_desk_of_the_day(client, db, make_user) -> None:
    cashier = make_user("cashier", agency="AG-PAGE")
    opened = client.post(
        "/api/v1/cash-sessions",
        json={"business_date": "2026-03-14", "opening_float": 2000},
        headers=bearer(cashier),
    )
    assert opened.status_code == 201
    _sign_in(client, db, "page-boss", "manager")
    page = client.get("/cash-desks", params={"day": "2026-03-14"})
    assert page.status_code == 200
    assert 'data-testid="desk-status">open<' in page.text
    assert 'href="/cash-desks"' in client.get("/").text


def test_an_unmatched_receipt_is_matched_from_the_page(client, db) -> None:
    account = make_account(db)
    waiting = matching.take(
        db,
        SYSTEM,
        matching.Receipt(
            channel=Channel.MOBILE_MONEY,
            instrument=Instrument.MOBILE_MONEY,
            external_id="PAGE-1",
            amount=3000,
            currency="XOF",
            received_at=datetime(2026, 3, 14, 10, tzinfo=UTC),
            text="???",
            payer_name="Page Payer",
        ),
    )
    db.commit()
    _sign_in(client, db, "page-till", "cashier")
    page = client.get("/payments/unmatched")
    assert "PAGE-1" in page.text and "Page Payer" in page.text
    wrong = client.post(
        f"/payments/unmatched/{waiting.id}/match",
        data={"account_number": "0000000000"},
        follow_redirects=False,
    )
    assert wrong.status_code == 303 and "error" in wrong.headers["location"]
    done = client.post(
        f"/payments/unmatched/{waiting.id}/match",
        data={"account_number": account.number},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert balance(db, account) == -3000
    assert "PAGE-1" not in client.get("/payments/unmatched").text
