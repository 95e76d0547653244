"""One allocator for every channel, with hand-computed amounts: fees, then interest, then
principal, oldest first; partial payments; overpayment kept as credit and spent on the next
invoice; release and reallocation by the back office; a reversal restores the debt exactly.
After every scenario the ledger balance equals open items less credit, and the books hold."""

from __future__ import annotations

from datetime import date

import pytest

from billing.payments import allocation, repository, service
from billing.payments.allocation import AllocationPolicy
from billing.payments.enums import Channel, Instrument, ItemKind
from billing.payments.errors import AllocationInvalidError, PaymentDuplicateError
from core.audit import AuditLog
from core.context import SYSTEM
from tests.billing.payments.helpers import (
    assert_books_hold,
    balance,
    charge,
    invoice,
    make_account,
    pay,
)


def open_by_ref(db, account) -> dict[str, int]:
    items = {i.id: i.document_ref for i in repository.items_of(db, account.id)}
    return {items[o.id]: o.open_amount for o in repository.open_items(db, account.id)}


def credit(db, account) -> int:
    return sum(c.remaining for c in repository.credits(db, account.id))


def assert_position(db, account) -> None:
    """The ledger's balance is explained by the open items less the credit."""
    assert balance(db, account) == sum(open_by_ref(db, account).values()) - credit(db, account)
    assert_books_hold(db)


@pytest.fixture()
def debts(db):
    """Two invoices, a fee and interest: 10000 + 6000 + 1500 + 300 = 17800 owed."""
    account = make_account(db)
    invoice(db, account, 10000, date(2025, 1, 31), "F-A")
    invoice(db, account, 6000, date(2025, 2, 28), "F-B")
    charge(db, account, ItemKind.FEE, 1500, date(2025, 3, 5), "FEE-1")
    charge(db, account, ItemKind.INTEREST, 300, date(2025, 3, 10), "INT-1")
    assert balance(db, account) == 17800
    return account


def test_a_partial_payment_pays_fees_then_interest_then_the_oldest_invoice(db, debts) -> None:
    pay(db, debts, 5000, date(2025, 3, 15))
    # 5000 -> fee 1500, interest 300, then F-A: 5000 - 1500 - 300 = 3200 of 10000 -> 6800.
    assert open_by_ref(db, debts) == {"F-A": 6800, "F-B": 6000}
    assert balance(db, debts) == 17800 - 5000  # 12800 = 6800 + 6000
    assert_position(db, debts)


def test_an_overpayment_is_credit_that_pays_the_next_invoice(db, debts) -> None:
    pay(db, debts, 20000, date(2025, 3, 15))
    # 20000 - 17800 = 2200 left as credit, nothing open.
    assert open_by_ref(db, debts) == {}
    assert credit(db, debts) == 2200
    assert balance(db, debts) == -2200
    invoice(db, debts, 3000, date(2025, 3, 31), "F-C")
    # The credit of 2200 pays F-C in part: 3000 - 2200 = 800 open, no credit left.
    assert open_by_ref(db, debts) == {"F-C": 800}
    assert credit(db, debts) == 0
    assert balance(db, debts) == 800
    assert_position(db, debts)


def test_two_payments_are_spent_oldest_first(db, debts) -> None:
    first = pay(db, debts, 1000, date(2025, 3, 1))
    second = pay(db, debts, 2000, date(2025, 3, 2))
    # first: fee 1000 of 1500; second: fee 500, interest 300, F-A 1200.
    assert open_by_ref(db, debts) == {"F-A": 8800, "F-B": 6000}
    by_payment = {
        p.id: sorted(a.amount for a in service.allocations(db, p)) for p in (first, second)
    }
    assert by_payment == {first.id: [1000], second.id: [300, 500, 1200]}
    assert_position(db, debts)


def test_the_order_is_configurable(db, debts) -> None:
    """Oldest due first whatever the kind: F-A (Jan 31) before F-B, the fee, the interest."""
    policy = AllocationPolicy(kinds_first=False)
    payment = service.record_payment(
        db,
        SYSTEM,
        data=pay_data(debts, 12000),
        allocate=False,
    )
    allocation.allocate_account(db, SYSTEM, debts.id, policy)
    # 12000 -> F-A 10000, then F-B 2000 of 6000 -> 4000 open; fee and interest untouched.
    assert open_by_ref(db, debts) == {"F-B": 4000, "FEE-1": 1500, "INT-1": 300}
    assert repository.unallocated(db, [payment.id]) == {payment.id: 0}
    assert_position(db, debts)


def pay_data(account, amount: int):
    from billing.payments.schemas import PaymentCreate

    return PaymentCreate(customer_account_id=account.id, amount=amount, currency="XOF")


def test_the_back_office_reallocates_and_the_release_is_audited(db, debts) -> None:
    payment = pay(db, debts, 5000, date(2025, 3, 15))
    allocation.reallocate(
        db,
        SYSTEM,
        payment,
        reason="customer asked to pay F-B",
        targets=[(item(db, debts, "F-B"), 4000)],
    )
    # Released: fee, interest, F-A open again in full; F-B 6000 - 4000 = 2000; 1000 credit.
    assert open_by_ref(db, debts) == {"F-A": 10000, "F-B": 2000, "FEE-1": 1500, "INT-1": 300}
    assert credit(db, debts) == 1000
    assert_position(db, debts)
    released = (
        db.query(AuditLog)
        .filter(AuditLog.table_name == "billing_payment_allocation", AuditLog.action == "update")
        .all()
    )
    assert len(released) == 3
    assert {r.reason for r in released} == {"customer asked to pay F-B"}
    # Back to the policy: 5000 -> fee, interest, 3200 of F-A again.
    allocation.reallocate(db, SYSTEM, payment, reason="back to the rules")
    assert open_by_ref(db, debts) == {"F-A": 6800, "F-B": 6000}
    assert_position(db, debts)


def item(db, account, ref: str) -> int:
    return next(i.id for i in repository.items_of(db, account.id) if i.document_ref == ref)


def test_a_manual_allocation_cannot_exceed_what_is_open_or_left(db, debts) -> None:
    payment = pay(db, debts, 500, date(2025, 3, 15))
    with pytest.raises(AllocationInvalidError):
        allocation.reallocate(
            db, SYSTEM, payment, reason="too much", targets=[(item(db, debts, "F-A"), 600)]
        )
    other = make_account(db)
    other_item = invoice(db, other, 1000, date(2025, 1, 31), "F-OTHER")
    with pytest.raises(AllocationInvalidError):
        allocation.reallocate(
            db, SYSTEM, payment, reason="wrong account", targets=[(other_item.id, 100)]
        )


def test_a_reversal_restores_the_debt_exactly(db, debts) -> None:
    before = open_by_ref(db, debts)
    payment = pay(db, debts, 5000, date(2025, 3, 15))
    service.reverse_payment(db, SYSTEM, payment, reason="cheque bounced", on=date(2025, 3, 20))
    assert open_by_ref(db, debts) == before  # every item open as before the payment
    assert balance(db, debts) == 17800
    assert_position(db, debts)


def test_a_reversal_lets_the_other_credit_pay_what_reopened(db, debts) -> None:
    big = pay(db, debts, 17800, date(2025, 3, 15))  # pays everything
    spare = pay(db, debts, 2000, date(2025, 3, 16))  # all credit
    service.reverse_payment(db, SYSTEM, big, reason="bounced")
    # 2000 of credit -> fee 1500, interest 300, F-A 200: F-A 9800, F-B 6000 open.
    assert open_by_ref(db, debts) == {"F-A": 9800, "F-B": 6000}
    assert repository.unallocated(db, [spare.id, big.id]) == {spare.id: 0, big.id: 0}
    assert_position(db, debts)


def test_a_transaction_id_is_posted_once_per_channel(db, debts) -> None:
    pay(db, debts, 1000, date(2025, 3, 1), channel=Channel.MOBILE_MONEY,
        instrument=Instrument.MOBILE_MONEY, external_id="QK12345")  # fmt: skip
    with pytest.raises(PaymentDuplicateError):
        pay(db, debts, 1000, date(2025, 3, 1), channel=Channel.MOBILE_MONEY,
            instrument=Instrument.MOBILE_MONEY, external_id="QK12345")  # fmt: skip
    # The same id on another channel is another payment.
    pay(db, debts, 1000, date(2025, 3, 1), channel=Channel.BANK,
        instrument=Instrument.TRANSFER, external_id="QK12345")  # fmt: skip
    assert balance(db, debts) == 17800 - 2000
    assert_position(db, debts)


def test_the_database_refuses_a_second_payment_with_the_same_transaction_id(db, debts) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    payment = pay(db, debts, 1000, date(2025, 3, 1), channel=Channel.BANK,
                  instrument=Instrument.TRANSFER, external_id="E2E-1")  # fmt: skip
    copy = text(
        "INSERT INTO billing_payment (number, customer_account_id, channel, instrument, "
        "external_id, amount, currency, received_at, value_date, ledger_transaction_id) "
        "SELECT 'R-X', customer_account_id, channel, instrument, external_id, amount, "
        "currency, received_at, value_date, ledger_transaction_id "
        "FROM billing_payment WHERE id = :id"
    )
    with (
        pytest.raises(IntegrityError, match="uq_billing_payment_channel_external_id"),
        db.begin_nested(),
    ):
        db.execute(copy, {"id": payment.id})
