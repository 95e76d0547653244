"""The payment channels' pages over HTTP: a bank statement's matched and waiting lines; the
mobile-money reconciliation (missing on either side); mandates, a direct-debit batch made
and its return imported from the page; prepaid vending (sell by meter number, the receipt
with its energy and deductions, PDF and thermal text, the meter's history); the customer
file showing payments and purchases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.payments import bank, direct_debit, vending
from billing.payments.enums import Channel, Instrument
from core.auth.service import create_user
from core.context import SYSTEM
from core.settings import get_settings
from customers.models import Account
from tests.billing.payments.helpers import balance, invoice, make_account, pay
from tests.billing.payments.test_bank import statement
from tests.billing.world import customer
from tests.conftest import TEST_PASSWORD, bearer


def _sign_in(client, db, username: str, role: str) -> None:
    create_user(db, username=username, password=TEST_PASSWORD, roles=[role])
    db.commit()
    answer = client.post(
        "/login", data={"username": username, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


def test_a_bank_statement_shows_what_matched_and_what_waits(client, db) -> None:
    other = make_account(db)
    imported = bank.import_statement(db, SYSTEM, statement("STMT-PAGE", "RF00NOPE", other.number))
    db.commit()
    _sign_in(client, db, "stmt-page", "cashier")
    listing = client.get("/payments/bank-statements")
    assert listing.status_code == 200 and "STMT-PAGE" in listing.text
    page = client.get(f"/payments/bank-statements/{imported.statement.id}")
    assert page.status_code == 200
    # the sample: one credit names the account (matched), two name nothing (waiting)
    counts = imported.statement
    assert f"{counts.matched} matched" in page.text and f"{counts.unmatched} unmatched" in page.text
    assert "BNK-0003" in page.text.split('data-testid="waiting-table"')[1]
    assert client.get("/payments/bank-statements/999999999").status_code == 404


def test_the_mobile_money_reconciliation_page_lists_both_sides(client, db) -> None:
    account = make_account(db)
    day = date(2026, 3, 14)
    pay(db, account, 1500, day, channel=Channel.MOBILE_MONEY,
        instrument=Instrument.MOBILE_MONEY, external_id="MM-OK")  # fmt: skip
    pay(db, account, 900, day, channel=Channel.MOBILE_MONEY,
        instrument=Instrument.MOBILE_MONEY, external_id="MM-OURS")  # fmt: skip
    db.commit()
    _sign_in(client, db, "momo-page", "cashier")
    csv = b"transaction_id,amount,date\nMM-OK,1500,2026-03-14\nMM-THEIRS,700,2026-03-14\n"
    page = client.post(
        "/payments/mobile-money",
        data={"day": "2026-03-14"},
        files={"file": ("momo.csv", csv, "text/csv")},
    )
    assert page.status_code == 200
    assert 'data-testid="matched-count">1<' in page.text
    theirs = page.text.split('data-testid="missing-in-kilowatch"')[1].split("</table>")[0]
    ours = page.text.split('data-testid="missing-in-statement"')[1].split("</table>")[0]
    assert "MM-THEIRS" in theirs and "MM-OURS" not in theirs
    assert "MM-OURS" in ours and "MM-OK" not in ours
    bad = client.post(
        "/payments/mobile-money",
        data={"day": "2026-03-14"},
        files={"file": ("momo.csv", b"transaction_id,amount,date\nX,abc,2026\n", "text/csv")},
        follow_redirects=False,
    )
    assert bad.status_code == 303 and "error=" in bad.headers["location"]


@pytest.fixture()
def creditor(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "utility_bank_account", "FR1420041010050500013M02606")
    monkeypatch.setattr(settings, "utility_bic", "PSSTFRPP")
    monkeypatch.setattr(settings, "direct_debit_return_fee", 1500)


def test_mandates_and_a_batch_from_the_page(client, db, creditor) -> None:
    account = make_account(db)
    invoice(db, account, 4_000, date(2026, 3, 1), "F-DDPAGE")
    db.commit()
    _sign_in(client, db, "dd-page", "admin")
    bad = client.post(
        "/direct-debit/mandates",
        data={"account_number": account.number, "reference": "MND-PAGE",
              "signed_on": "2026-02-01", "debtor_name": "Page", "iban": "DE00123"},
        follow_redirects=False,
    )  # fmt: skip
    assert bad.status_code == 303 and "IBAN" in bad.headers["location"]
    made = client.post(
        "/direct-debit/mandates",
        data={"account_number": account.number, "reference": "MND-PAGE",
              "signed_on": "2026-02-01", "debtor_name": "Page", "iban": "DE89370400440532013000"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303 and "error" not in made.headers["location"]
    assert "MND-PAGE" in client.get("/direct-debit").text
    batch = client.post(
        "/direct-debit/batches", data={"collection_date": "2026-03-10"}, follow_redirects=False
    )
    assert batch.status_code == 303
    page = client.get(batch.headers["location"])
    assert page.status_code == 200 and 'data-testid="collection-status">collected<' in page.text
    assert balance(db, account) == 0
    [made_batch] = direct_debit.batches(db, SYSTEM)
    [debit] = direct_debit.collections_of(db, made_batch)
    returned = client.post(
        "/direct-debit/returns",
        files={"file": ("r.csv", f"end_to_end_id,reason_code\n{debit.end_to_end_id},AM04\n".encode())},
        follow_redirects=False,
    )  # fmt: skip
    assert returned.status_code == 303 and "1%20returned" in returned.headers["location"]
    assert 'data-testid="collection-status">returned<' in client.get(batch.headers["location"]).text
    assert balance(db, account) == 4_000 + 1_500  # the debt again, and the return fee


def test_prepaid_sale_receipt_and_history_from_the_page(client, db, make_user) -> None:
    who = customer(db)
    account = db.get_one(Account, who.account_id)
    db.commit()
    _sign_in(client, db, "vend-page", "cashier")
    unknown = client.post(
        "/prepaid", data={"meter_serial": "NOPE", "amount": "5000"}, follow_redirects=False
    )
    assert unknown.status_code == 303 and "error=" in unknown.headers["location"]
    sold = client.post(
        "/prepaid",
        data={"meter_serial": who.meter_serial, "amount": "5000"},
        follow_redirects=False,
    )
    assert sold.status_code == 303
    receipt = client.get(sold.headers["location"])
    assert receipt.status_code == 200
    [vend] = vending.history(db, who.meter_serial)
    # 5000 buys 74 kWh at the month's first purchase (tests/billing/payments/test_vending.py)
    assert 'data-testid="kwh">74' in receipt.text
    assert vend.token[:4] in receipt.text and "tva" in receipt.text
    history = client.get(f"/prepaid/meters/{who.meter_serial}")
    assert vend.token in history.text
    reader = bearer(make_user("cashier"))
    pdf = client.get(f"/api/v1/prepaid-vends/{vend.id}/receipt", headers=reader)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    narrow = client.get(
        f"/api/v1/prepaid-vends/{vend.id}/receipt", params={"layout": "text"}, headers=reader
    )
    lines = narrow.text.splitlines()
    assert max(len(line) for line in lines) <= 42
    assert " ".join(vend.token[i : i + 4] for i in range(0, 20, 4)) in narrow.text
    assert any(line.startswith("ENERGIE") and line.endswith("74 kWh") for line in lines)

    # the customer file shows the purchase and its payment
    file = client.get(
        f"/api/v1/customers/{account.payer_party_id}/360",
        headers=bearer(make_user("customer_desk")),
    ).json()
    [mine] = file["payments"]["accounts"]
    assert [p["amount"] for p in mine["purchases"]] == [5000]
    assert [p["amount"] for p in mine["payments"]] == [5000]
    page = client.get(f"/customers/{account.payer_party_id}")
    assert 'data-testid="c360-purchase"' in page.text and vend.token in page.text


def test_received_at_is_kept(db) -> None:
    # guard for the helper used above: a payment's received_at is the given day's 10:00 UTC
    account = make_account(db)
    made = pay(db, account, 100, date(2026, 3, 14))
    assert made.received_at == datetime(2026, 3, 14, 10, tzinfo=UTC)
