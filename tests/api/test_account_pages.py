"""The account statement page and the customer file's "balance, invoices and payments":
figures are sums of ledger postings, formatted with babel (XOF: no decimals)."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from billing.ledger import service
from billing.ledger.models import TransactionKind
from billing.ledger.service import Line
from core.context import SYSTEM
from core.money import format_money
from customers.models import Account
from tests.api.test_pages import _sign_in
from tests.billing.test_ledger import invoice, make_account, payment
from tests.conftest import bearer


def history(db: Session) -> Account:
    """Opening balance 8 000 (31 Dec), invoice F-1 of 11 800 (31 Jan), payment of 15 000
    (10 Feb), invoice F-2 of 5 900 (28 Feb): owed 8 000 + 11 800 - 15 000 + 5 900 = 10 700."""
    account = make_account(db)
    service.post(
        db,
        SYSTEM,
        kind=TransactionKind.OPENING_BALANCE,
        entry_date=date(2024, 12, 31),
        currency="XOF",
        source_ref=f"opening:{account.number}",
        lines=[Line("receivable", 8000, account.id), Line("equity:opening", -8000)],
    )
    invoice(db, account, 11800, date(2025, 1, 31), ref="F-1")
    payment(db, account, 15000, date(2025, 2, 10))
    invoice(db, account, 5900, date(2025, 2, 28), ref="F-2")
    db.commit()
    return account


def _rows(html: str) -> list[tuple[str, int, int]]:
    return [
        (kind, int(amount), int(balance))
        for kind, amount, balance in re.findall(
            r'<tr class="st-line" data-kind="([^"]+)" data-amount="(-?\d+)" data-balance="(-?\d+)"',
            html,
        )
    ]


def test_the_statement_page_runs_the_balance(client: TestClient, db: Session) -> None:
    account = history(db)
    _sign_in(client, db, "cashier.st", "cashier")
    page = client.get(f"/accounts/{account.id}")
    assert page.status_code == 200
    assert _rows(page.text) == [
        ("opening_balance", 8000, 8000),
        ("invoice", 11800, 19800),  # 8 000 + 11 800
        ("payment", -15000, 4800),  # 19 800 - 15 000
        ("invoice", 5900, 10700),  # 4 800 + 5 900
    ]
    assert format_money(10700, "XOF", "en") in page.text
    assert 'data-currency="XOF" data-minor="10700"' in page.text
    # From February: January's documents are brought forward (8 000 + 11 800 = 19 800).
    # As the form sends it: an empty "to".
    february = client.get(f"/accounts/{account.id}?date_from=2025-02-01&date_to=")
    assert _rows(february.text) == [("payment", -15000, 4800), ("invoice", 5900, 10700)]
    assert format_money(19800, "XOF", "en") in february.text


def test_the_statement_page_needs_billing_read_and_a_visible_account(
    client: TestClient, db: Session
) -> None:
    account = history(db)
    assert client.get(f"/accounts/{account.id}", follow_redirects=False).status_code == 303
    _sign_in(client, db, "tech.st", "technician")
    assert client.get(f"/accounts/{account.id}").status_code == 403
    _sign_in(client, db, "cashier.st2", "cashier")
    assert client.get("/accounts/987654321").status_code == 404
    assert (
        client.get(f"/accounts/{account.id}?date_from=2025-03-01&date_to=2025-01-01").status_code
        == 422
    )


def test_the_customer_file_shows_balance_invoices_and_payments(
    client: TestClient, db: Session, make_user
) -> None:
    account = history(db)
    _sign_in(client, db, "desk.st", "customer_desk")
    page = client.get(f"/customers/{account.payer_party_id}")
    assert page.status_code == 200
    section = page.text[page.text.index('data-testid="billing"') :]
    assert f'href="/accounts/{account.id}"' in section
    assert 'data-currency="XOF" data-minor="10700"' in section
    assert section.index("F-2") < section.index("F-1")  # newest first
    assert format_money(15000, "XOF", "en") in section

    answer = client.get(
        f"/api/v1/customers/{account.payer_party_id}/360",
        headers=bearer(make_user("customer_desk")),
    ).json()
    [billing] = answer["billing"]["accounts"]
    assert billing["balance"] == {"XOF": 10700}
    assert [d["source_ref"] for d in billing["invoices"]] == ["F-2", "F-1"]
    assert [d["amount"] for d in billing["payments"]] == [-15000]


def test_readers_without_billing_read_see_no_money(
    client: TestClient, db: Session, make_user
) -> None:
    account = history(db)
    answer = client.get(
        f"/api/v1/customers/{account.payer_party_id}/360",
        headers=bearer(make_user("technician")),
    )
    assert answer.status_code == 200  # technicians read customers, not their money
    assert answer.json()["billing"] is None
