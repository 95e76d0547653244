"""camt.053 import: the sample statement (tests/billing/payments/data) is matched by RF
reference and by account number, the rest queued for manual matching, the debit skipped;
the same statement twice, or its entries in another statement, post nothing twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from string import Template

import pytest

from billing.payments import bank, matching, repository
from billing.payments.errors import StatementImportedError, UnmatchedReceiptMatchedError
from core.context import SYSTEM
from customers.models import Account
from tests.billing.payments.helpers import assert_books_hold, balance, make_account
from tests.billing.test_invoices import january_bill

SAMPLE = Path(__file__).parent / "data" / "camt053_sample.xml"


def statement(statement_id: str, rf: str, account_number: str) -> bytes:
    return (
        Template(SAMPLE.read_text())
        .substitute(STATEMENT_ID=statement_id, RF_BILL=rf, ACCOUNT_NUMBER=account_number)
        .encode()
    )


@pytest.fixture()
def world(db):
    bill = january_bill(db)  # 11210 owed, with its RF reference
    billed = db.get(Account, bill.account_id)
    other = make_account(db)
    return bill, billed, other


def test_the_sample_statement_is_matched_and_queued(db, world) -> None:
    bill, billed, other = world
    report = bank.import_statement(
        db, SYSTEM, statement("STMT-46", bill.payment_reference, other.number)
    )
    got = {p.external_id: (p.customer_account_id, p.amount) for p in report.payments}
    assert got == {"BNK-0001": (billed.id, 11210), "BNK-0002": (other.id, 5000)}
    assert len(report.unmatched) == 1 and report.skipped == 1 and report.duplicates == []
    assert (report.statement.matched, report.statement.unmatched) == (2, 1)
    assert balance(db, billed) == 11210 - 11210  # the bill paid by its RF reference
    assert balance(db, other) == -5000  # nothing billed yet: credit
    queue = matching.unmatched_queue(db, SYSTEM, limit=10, offset=0)
    assert [(r.external_id, r.amount, r.payer_name) for r in queue] == [
        ("BNK-0003", 7000, "Inconnu SARL")
    ]
    assert_books_hold(db)


def test_a_statement_imported_twice_posts_nothing_twice(db, world) -> None:
    bill, billed, other = world
    content = statement("STMT-46", bill.payment_reference, other.number)
    bank.import_statement(db, SYSTEM, content)
    with pytest.raises(StatementImportedError):
        bank.import_statement(db, SYSTEM, content)
    # The same entries in another statement (a day report, then the day's statement).
    again = bank.import_statement(
        db, SYSTEM, statement("STMT-47", bill.payment_reference, other.number)
    )
    assert (again.payments, again.unmatched) == ([], [])
    assert sorted(again.duplicates) == ["BNK-0001", "BNK-0002", "BNK-0003"]
    assert balance(db, billed) == 0 and balance(db, other) == -5000
    assert_books_hold(db)


def test_an_unmatched_receipt_is_matched_by_hand_once(db, world) -> None:
    bill, _billed, other = world
    report = bank.import_statement(
        db, SYSTEM, statement("STMT-46", bill.payment_reference, other.number)
    )
    [receipt_id] = report.unmatched
    payment = matching.match_by_hand(db, SYSTEM, receipt_id, customer_account_id=other.id)
    assert (payment.channel, payment.external_id, payment.amount) == ("bank", "BNK-0003", 7000)
    assert balance(db, other) == -5000 - 7000
    with pytest.raises(UnmatchedReceiptMatchedError):
        matching.match_by_hand(db, SYSTEM, receipt_id, customer_account_id=other.id)
    assert matching.unmatched_queue(db, SYSTEM, limit=10, offset=0) == []
    assert_books_hold(db)


def test_references_are_read_from_free_text() -> None:
    assert matching.rf_references("pour RF18 5390 0754 7034 merci") == ["RF18539007547034"]
    assert matching.rf_references("RF19 5390 0754 7034") == []  # wrong check digits
    assert matching.account_numbers("compte 0000000018 et 0000000019") == ["0000000018"]


def test_a_file_that_is_not_a_statement_is_refused(db) -> None:
    from billing.payments.errors import StatementInvalidError

    with pytest.raises(StatementInvalidError):
        bank.import_statement(db, SYSTEM, b"<html>not camt</html>")
    with pytest.raises(StatementInvalidError):
        bank.import_statement(db, SYSTEM, b"\x00\x01")


def test_open_items_follow_bank_payments(db, world) -> None:
    bill, billed, other = world
    bank.import_statement(db, SYSTEM, statement("STMT-46", bill.payment_reference, other.number))
    assert repository.open_items(db, billed.id) == []
    assert (
        date(2026, 2, 15)
        == repository.payments_of(db, SYSTEM, billed.id, limit=5, offset=0)[0].value_date
    )
