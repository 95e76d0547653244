"""Batched posting gives what posting one by one gives: the same ledger, the same
allocations (fees, interest, then the oldest invoice), duplicates skipped, the books hold."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from billing.payments import repository
from billing.payments.batch import post_batch
from billing.payments.enums import Channel, Instrument, ItemKind
from billing.payments.schemas import PaymentCreate
from core.context import SYSTEM
from core.errors import ReferenceUnknownError
from tests.billing.payments.helpers import (
    assert_books_hold,
    balance,
    charge,
    invoice,
    make_account,
)


def _payment(account_id: int, amount: int, day: int, external_id: str | None = None):
    return PaymentCreate(
        customer_account_id=account_id,
        amount=amount,
        currency="XOF",
        channel=Channel.BANK if external_id else Channel.DESK,
        instrument=Instrument.TRANSFER if external_id else Instrument.CASH,
        external_id=external_id,
        received_at=datetime(2026, 3, day, 10, tzinfo=UTC),
    )


def test_a_batch_posts_and_allocates_like_one_by_one(db) -> None:
    first, second = make_account(db), make_account(db)
    invoice(db, first, 10000, date(2026, 1, 31), "F-BATCH-A")
    invoice(db, first, 6000, date(2026, 2, 28), "F-BATCH-B")
    charge(db, first, ItemKind.FEE, 1500, date(2026, 3, 5), "FEE-BATCH")
    invoice(db, second, 4000, date(2026, 2, 28), "F-BATCH-C")
    report = post_batch(
        db,
        SYSTEM,
        [
            _payment(first.id, 3000, 10),  # fee 1500, then F-BATCH-A 1500
            _payment(first.id, 2000, 11, "BNK-B1"),  # F-BATCH-A 2000
            _payment(second.id, 5000, 10, "BNK-B2"),  # F-BATCH-C 4000, 1000 credit
        ],
    )
    assert len(report.payment_ids) == 3 and report.duplicates == []
    refs = {i.id: i.document_ref for i in repository.items_of(db, first.id)}
    open_first = {refs[o.id]: o.open_amount for o in repository.open_items(db, first.id)}
    # F-BATCH-A: 10000 - 1500 - 2000 = 6500; F-BATCH-B untouched.
    assert open_first == {"F-BATCH-A": 6500, "F-BATCH-B": 6000}
    assert repository.open_items(db, second.id) == []
    assert sum(c.remaining for c in repository.credits(db, second.id)) == 1000
    assert balance(db, first) == 17500 - 5000 and balance(db, second) == 4000 - 5000
    again = post_batch(db, SYSTEM, [_payment(second.id, 5000, 10, "BNK-B2")])
    assert (again.payment_ids, again.duplicates) == ([], [("bank", "BNK-B2")])
    assert balance(db, second) == -1000
    assert_books_hold(db)


def test_a_batch_naming_an_unknown_account_writes_nothing(db) -> None:
    account = make_account(db)
    with pytest.raises(ReferenceUnknownError):
        post_batch(db, SYSTEM, [_payment(account.id, 100, 1), _payment(987654321, 100, 1)])
    assert balance(db, account) == 0
