"""A cashier opens a customer's file in a real browser, sees the account's balance with
its latest invoices and payments, follows the account to its statement and reads the
running balance and the closing balance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from billing.ledger.models import TransactionKind
from billing.ledger.service import Line, post
from core.auth.models import User
from core.auth.service import create_user
from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.money import format_money
from customers import service as customers
from customers.schemas import AccountCreate, PartyCreate

pytestmark = pytest.mark.e2e
PASSWORD = "browser-pass-statement"


@pytest.fixture()
def account_and_cashier(live_url: str) -> object:
    """A customer whose account was billed 11 800 and 5 900 and paid 15 000: owes 2 700.
    Ledger postings are append-only, so they stay in the session's scratch database (an
    invoice and a payment of their own, balanced); the cashier is removed afterwards."""
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        party, _ = customers.create_party(
            session,
            actor=SYSTEM,
            data=PartyCreate(kind="person", first_name="Afi", last_name="Statement"),
        )
        account = customers.create_account(
            session, actor=SYSTEM, data=AccountCreate(payer_party_id=party.id)
        )
        for ref, amount, day in (
            ("E2E-F-1", 11800, date(2025, 1, 31)),
            ("E2E-F-2", 5900, date(2025, 2, 28)),
        ):
            post(
                session,
                SYSTEM,
                kind=TransactionKind.INVOICE,
                entry_date=day,
                currency="XOF",
                source_ref=ref,
                lines=[Line("receivable", amount, account.id), Line("revenue:energy", -amount)],
            )
        post(
            session,
            SYSTEM,
            kind=TransactionKind.PAYMENT,
            entry_date=date(2025, 2, 10),
            currency="XOF",
            source_ref="E2E-PAY-1",
            lines=[Line("cash", 15000), Line("receivable", -15000, account.id)],
        )
        user_id = create_user(
            session, username="e2e.statement", password=PASSWORD, roles=["cashier"]
        ).id
        ids = {"party": party.id, "account": account.id, "number": account.number}
    yield {"username": "e2e.statement", **ids}
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        session.delete(session.get(User, user_id))


def test_cashier_reads_the_balance_and_the_statement(
    browser, live_url: str, account_and_cashier: dict, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else offsite.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    party = account_and_cashier["party"]
    page.goto(f"{live_url}/customers/{party}")
    page.fill("input[name=username]", account_and_cashier["username"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/customers/{party}")
    section = page.locator("[data-testid=billing]")
    # 11 800 + 5 900 - 15 000 = 2 700 owed.
    assert section.locator(".c360-balance").inner_text() == format_money(2700, "XOF", "en")
    assert "E2E-F-2" in section.inner_text() and "E2E-F-1" in section.inner_text()
    page.screenshot(path=str(output_dir / "e2e-customer-billing.png"), full_page=True)

    section.locator(f"a[href='/accounts/{account_and_cashier['account']}']").first.click()
    page.wait_for_url(f"{live_url}/accounts/{account_and_cashier['account']}")
    rows = page.locator("[data-testid=statement] tr.st-line")
    assert [rows.nth(i).get_attribute("data-balance") for i in range(rows.count())] == [
        "11800",  # invoice E2E-F-1
        "-3200",  # paid 15 000: 11 800 - 15 000
        "2700",  # invoice E2E-F-2: -3 200 + 5 900
    ]
    closing = page.locator("[data-testid=statement] tr.st-closing td.num")
    assert closing.inner_text() == format_money(2700, "XOF", "en")

    # From February: January's invoice is brought forward.
    page.fill("input[name=date_from]", "2025-02-01")
    page.click("form.tf-search button[type=submit]")
    page.wait_for_url(f"{live_url}/accounts/{account_and_cashier['account']}?*")
    assert page.locator("[data-testid=statement] tr.st-line").count() == 2
    assert format_money(11800, "XOF", "en") in page.locator("tr.st-opening").inner_text()
    page.screenshot(path=str(output_dir / "e2e-account-statement.png"), full_page=True)
    context.close()
    assert errors == []
    assert offsite == []
