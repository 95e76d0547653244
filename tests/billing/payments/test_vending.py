"""Prepaid vending through the tariff engine, hand-computed under KW-TEST (fixed 500 XOF a
month; 0-100 kWh at 50, above at 80; TVA 18 % of energy + fixed, half-up; kWh in units):
two purchases in one month, the second paying no fixed charge and reaching the next block;
a failed vend reversed; the history of the meter; the books hold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billing.payments import repository, vending
from core.context import SYSTEM
from customers.models import Account
from tests.billing.payments.helpers import assert_books_hold, balance
from tests.billing.world import customer


def test_two_purchases_in_one_month(db) -> None:
    who = customer(db)
    account = db.get(Account, who.account_id)
    first = vending.vend(
        db, SYSTEM, contract_id=who.contract_id, meter_serial=who.meter_serial, amount=5000,
        at=datetime(2026, 3, 5, 9, tzinfo=UTC),
    )  # fmt: skip
    # 74 kWh: (500 + 74*50) * 1.18 = 4200 + 756 = 4956 <= 5000; 75 kWh would be 5015.
    assert (first.kwh, first.charged) == (Decimal(74), 4956)
    assert {line["component"] for line in first.lines} >= {"prime", "energie", "tva"}
    second = vending.vend(
        db, SYSTEM, contract_id=who.contract_id, meter_serial=who.meter_serial, amount=4000,
        at=datetime(2026, 3, 20, 9, tzinfo=UTC),
    )  # fmt: skip
    # The month's bill may reach 4956 + 4000 = 8956: 126 kWh bill 500 + 100*50 + 26*80 = 7580
    # + TVA 1364 = 8944 (127 kWh: 9039). So 126 - 74 = 52 kWh for 8944 - 4956 = 3988, no
    # fixed charge, 26 of them in the second block.
    assert (second.kwh, second.charged, second.month_kwh_before) == (Decimal(52), 3988, Decimal(74))
    assert "prime" not in {line["component"] for line in second.lines}
    assert len(first.token) == len(second.token) == 20 and first.token != second.token
    # Paid 9000, charged 8944: 56 XOF of credit on the account.
    assert balance(db, account) == -56
    assert sum(c.remaining for c in repository.credits(db, account.id)) == 56
    assert [v.id for v in vending.history(db, who.meter_serial)] == [first.id, second.id]
    assert_books_hold(db)


def test_a_failed_vend_is_reversed_and_its_money_is_credit(db) -> None:
    who = customer(db)
    account = db.get(Account, who.account_id)
    sold = vending.vend(
        db, SYSTEM, contract_id=who.contract_id, meter_serial=who.meter_serial, amount=5000,
        at=datetime(2026, 3, 5, 9, tzinfo=UTC),
    )  # fmt: skip
    vending.reverse_vend(db, SYSTEM, sold, reason="token not accepted")
    assert sold.status == "reversed"
    assert balance(db, account) == -5000  # the whole payment is credit again
    again = vending.vend(
        db, SYSTEM, contract_id=who.contract_id, meter_serial=who.meter_serial, amount=5000,
        at=datetime(2026, 3, 6, 9, tzinfo=UTC),
    )  # fmt: skip
    # The reversed vend no longer counts: the month starts again, fixed charge included.
    assert (again.kwh, again.charged, again.month_kwh_before) == (Decimal(74), 4956, Decimal(0))
    assert balance(db, account) == -5000 - 5000 + 4956
    assert_books_hold(db)


def test_the_test_token_generator_is_deterministic() -> None:
    generator = vending.TestTokenGenerator()
    token = generator.token(meter_serial="M-1", kwh=Decimal("74"), sequence=1)
    assert token == generator.token(meter_serial="M-1", kwh=Decimal("74.0"), sequence=1)
    assert token.isdigit() and len(token) == 20
    assert token != generator.token(meter_serial="M-1", kwh=Decimal("74"), sequence=2)
