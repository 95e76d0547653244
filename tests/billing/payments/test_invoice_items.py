"""Issued bills (h-billing's invoices) are the open items payments pay: a bill paid in
part, credited and re-billed moves its payment onto the re-bill; credit paid in advance
pays the next bill when the run is settled. Exact amounts from the KW-TEST tariff."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from billing.payments import allocation, repository
from core.context import SYSTEM
from customers.models import Account
from tests.billing.payments.helpers import assert_books_hold, balance, pay
from tests.billing.test_invoices import JANUARY, january_bill
from tests.billing.world import customer, month_total


def open_amounts(db, account_id: int) -> dict[str, int]:
    refs = {i.id: i.document_ref for i in repository.items_of(db, account_id)}
    return {refs[o.id]: o.open_amount for o in repository.open_items(db, account_id)}


def test_a_credited_bill_hands_its_payment_to_the_rebill(db) -> None:
    bill = january_bill(db)  # 150 kWh: 11210 (KW-TEST)
    account = db.get(Account, bill.account_id)
    payment = pay(db, account, 5000, date(2026, 2, 10))
    assert open_amounts(db, account.id) == {bill.number: 11210 - 5000}  # 6210
    _credit_note, rebill = invoices.rebill(
        db, SYSTEM, invoice_id=bill.id, kwh={"total": Decimal(120)}, note="misread index"
    )
    allocation.settle(db, SYSTEM, [account.id])
    # The bill is closed; its 5000 now pays the re-bill of 120 kWh: 8378 - 5000 = 3378.
    assert rebill.total == month_total(120) == 8378
    assert open_amounts(db, account.id) == {rebill.number: 3378}
    assert repository.unallocated(db, [payment.id]) == {payment.id: 0}
    assert balance(db, account) == 11210 - 5000 - 11210 + 8378  # 3378
    released = [a for a in repository.allocations_of(db, payment.id) if a.released_at]
    assert [r.release_reason for r in released] == [f"bill {bill.number} credited"]
    assert_books_hold(db)


def test_credit_paid_in_advance_pays_the_next_bill(db) -> None:
    who = customer(db)
    account = db.get(Account, who.account_id)
    pay(db, account, 20000, date(2026, 1, 15))  # nothing billed yet: all credit
    bill = invoices.issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=JANUARY,
        kwh={"total": Decimal(150)},
        reason=InvoiceReason.CYCLE,
        issue_date=date(2026, 2, 3),
    )
    assert allocation.settle(db, SYSTEM) >= 1
    # 20000 - 11210 = 8790 of credit left, the bill paid.
    assert open_amounts(db, account.id) == {}
    assert sum(c.remaining for c in repository.credits(db, account.id)) == 8790
    assert balance(db, account) == -8790
    assert bill.total == 11210
    assert_books_hold(db)
