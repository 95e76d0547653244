"""Cheques: pending until cleared (cheques -> bank); a bounced cheque reverses the
payment, re-opens exactly the debt it paid, adds the bounce fee; past the bounce limit the
account may no longer pay by cheque."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from billing.payments import cheques, repository
from billing.payments.enums import Channel, Instrument, ItemKind
from billing.payments.errors import ChequeRefusedError, ChequeStateError
from core.context import SYSTEM
from core.settings import get_settings
from tests.billing.payments.helpers import (
    assert_books_hold,
    balance,
    charge,
    invoice,
    make_account,
    pay,
)


@pytest.fixture(autouse=True)
def cheque_rules(monkeypatch):
    monkeypatch.setattr(get_settings(), "cheque_bounce_fee", 2500)
    monkeypatch.setattr(get_settings(), "cheque_bounce_limit", 2)


def cheque(db, account, amount: int, day: int):
    return pay(db, account, amount, date(2026, 3, day), channel=Channel.CHEQUE,
               instrument=Instrument.CHEQUE)  # fmt: skip


def ledger_account(db, code: str) -> int:
    return int(
        db.execute(
            text(
                "SELECT coalesce(sum(p.amount), 0) FROM billing_ledger_posting p "
                "JOIN billing_ledger_account a ON a.id = p.account_id WHERE a.code = :c"
            ),
            {"c": code},
        ).scalar_one()
    )


def open_by_ref(db, account) -> dict[str, int]:
    refs = {i.id: i.document_ref for i in repository.items_of(db, account.id)}
    return {refs[o.id]: o.open_amount for o in repository.open_items(db, account.id)}


def test_a_cheque_is_pending_until_it_clears(db) -> None:
    account = make_account(db)
    invoice(db, account, 8000, date(2026, 2, 28), "F-CHQ-1")
    cheques_before, bank_before = ledger_account(db, "cheques"), ledger_account(db, "bank")
    payment = cheque(db, account, 8000, 2)
    assert payment.cleared is False
    assert ledger_account(db, "cheques") - cheques_before == 8000
    cheques.clear(db, SYSTEM, payment, on=date(2026, 3, 6))
    assert payment.cleared is True
    assert ledger_account(db, "cheques") - cheques_before == 0  # 8000 - 8000
    assert ledger_account(db, "bank") - bank_before == 8000
    with pytest.raises(ChequeStateError):
        cheques.bounce(db, SYSTEM, payment, reason="too late")  # a cleared cheque
    assert_books_hold(db)


def test_a_bounced_cheque_restores_the_debt_exactly_and_adds_the_fee(db) -> None:
    account = make_account(db)
    invoice(db, account, 10000, date(2026, 1, 31), "F-CHQ-A")
    invoice(db, account, 6000, date(2026, 2, 28), "F-CHQ-B")
    charge(db, account, ItemKind.INTEREST, 300, date(2026, 3, 1), "INT-CHQ")
    before = open_by_ref(db, account)
    payment = cheque(db, account, 12000, 2)
    # 12000 -> interest 300, F-CHQ-A 10000, F-CHQ-B 1700: 6000 - 1700 = 4300 left.
    assert open_by_ref(db, account) == {"F-CHQ-B": 4300}
    fee = cheques.bounce(db, SYSTEM, payment, reason="insufficient funds", on=date(2026, 3, 9))
    assert fee is not None and fee.amount == 2500
    # Every item as before the cheque, plus the fee: 16300 + 2500 = 18800 owed.
    assert open_by_ref(db, account) == {**before, f"BOUNCE {payment.number}": 2500}
    assert balance(db, account) == 10000 + 6000 + 300 + 2500
    assert payment.status == "reversed" and payment.bounced_at is not None
    assert_books_hold(db)


def test_after_the_bounce_limit_no_more_cheques(db) -> None:
    account = make_account(db)
    for day in (2, 3):
        cheques.bounce(db, SYSTEM, cheque(db, account, 1000, day), reason="no funds")
    with pytest.raises(ChequeRefusedError):
        cheque(db, account, 1000, 4)
    pay(db, account, 1000, date(2026, 3, 4))  # cash is still taken
    # Two bounce fees of 2500, paid 1000 in cash: 5000 - 1000 = 4000 owed.
    assert balance(db, account) == 4000
    assert_books_hold(db)
