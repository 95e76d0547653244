"""Dunning with exact dates and amounts: steps on working days, fees and interest, a
payment stopping the steps, holds blocking exactly what they name. The books hold after
each scenario (``ledger check``: zero imbalance)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from billing.collections import service
from billing.collections.models import CollectionFile, CollectionHold
from billing.collections.repository import cut_eligible
from billing.collections.schemas import HoldCreate
from billing.payments.models import ReceivableItem
from core.context import SYSTEM
from core.outbox import OutboxEvent
from tests.billing.collections.helpers import DUE, books_hold, nights, paid, policy, steps_done
from tests.billing.payments.helpers import balance, invoice, make_account


def test_steps_fire_on_working_days_with_their_fees_and_interest(db) -> None:
    policy(db)
    account = make_account(db)
    invoice(db, account, 50_000, DUE, "F-DUN-1")
    nights(db, date(2026, 4, 30), date(2026, 5, 31))
    # 5, 10 and 15 working days after Thu 30 April (holidays 1, 14, 25 and 27 May).
    assert steps_done(db, account.id) == [
        (1, date(2026, 5, 8)),
        (2, date(2026, 5, 18)),
        (3, date(2026, 5, 26)),
    ]
    fees = db.scalars(
        select(ReceivableItem)
        .where(ReceivableItem.customer_account_id == account.id, ReceivableItem.kind == "fee")
        .order_by(ReceivableItem.id)
    ).all()
    assert [(f.amount, f.due_date) for f in fees] == [
        (1000, date(2026, 5, 18)),
        (2500, date(2026, 5, 26)),
    ]
    interest = db.scalars(
        select(ReceivableItem).where(
            ReceivableItem.customer_account_id == account.id, ReceivableItem.kind == "interest"
        )
    ).one()
    # 50 000 * 0.12 * 31 / 365 = 509.59 -> 510 (31 May - 30 April = 31 days, half up)
    assert (interest.amount, interest.due_date) == (510, date(2026, 5, 31))
    # 50 000 + 1 000 + 2 500 + 510
    assert balance(db, account) == 54_010
    file = db.get(CollectionFile, account.id)
    assert file is not None
    assert (file.status, file.step_position, file.cut_eligible_since) == (
        "overdue",
        3,
        date(2026, 5, 26),
    )
    rows, total = cut_eligible(db, SYSTEM, on=date(2026, 5, 29), limit=10, offset=0)
    assert total == 1 and rows[0]["customer_account_id"] == account.id
    assert rows[0]["days_overdue"] == 29 and rows[0]["unpaid_bills"] == 1
    events = db.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "billing.cut_eligibility_granted")
    ).all()
    assert [e.payload["customer_account_id"] for e in events] == [account.id]
    books_hold(db)


def test_a_payment_stops_the_steps_at_once(db) -> None:
    policy(db)
    account = make_account(db)
    invoice(db, account, 50_000, DUE, "F-DUN-2")
    nights(db, date(2026, 4, 30), date(2026, 5, 11))
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8))]
    paid(db, account, 50_000, date(2026, 5, 12))
    file = db.get(CollectionFile, account.id)
    assert file is not None
    assert (file.status, file.overdue_amount, file.step_position, file.next_step_date) == (
        "current",
        0,
        0,
        None,
    )
    assert file.reason.startswith("payment R")
    nights(db, date(2026, 5, 12), date(2026, 5, 31))
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8))]
    assert balance(db, account) == 0
    books_hold(db)


def test_a_partial_payment_below_the_minimum_waits(db) -> None:
    """The reminder needs 1 000 overdue: 800 left overdue does not fire it."""
    policy(db)
    account = make_account(db)
    invoice(db, account, 5_000, DUE, "F-DUN-3")
    paid(db, account, 4_200, date(2026, 5, 4))
    nights(db, date(2026, 5, 4), date(2026, 5, 12))
    assert steps_done(db, account.id) == []
    assert db.get(CollectionFile, account.id).overdue_amount == 800  # 5 000 - 4 200
    books_hold(db)


def test_a_hold_blocks_exactly_the_steps_it_names(db) -> None:
    policy(db, rate="0")
    vulnerable = make_account(db)
    other = make_account(db)
    invoice(db, vulnerable, 40_000, DUE, "F-DUN-4")
    invoice(db, other, 40_000, DUE, "F-DUN-5")
    service.add_hold(
        db,
        SYSTEM,
        data=HoldCreate(
            customer_account_id=vulnerable.id,
            kind="vulnerable",
            blocks=["cut_eligible"],
            start_date=date(2026, 1, 1),
        ),
    )
    # No cut on or before a non-working day, for everyone.
    service.add_hold(
        db,
        SYSTEM,
        data=HoldCreate(
            kind="regulatory",
            rule="eve_of_non_working_day",
            blocks=["cut_eligible"],
            start_date=date(2026, 1, 1),
        ),
    )
    nights(db, date(2026, 4, 30), date(2026, 6, 5))
    # The notices still go to the vulnerable customer; the cut never comes.
    assert steps_done(db, vulnerable.id) == [(1, date(2026, 5, 8)), (2, date(2026, 5, 18))]
    # Tue 26 is the eve of Eid (Wed 27, a holiday): the cut waits to Thu 28.
    assert steps_done(db, other.id) == [
        (1, date(2026, 5, 8)),
        (2, date(2026, 5, 18)),
        (3, date(2026, 5, 28)),
    ]
    rows, total = cut_eligible(db, SYSTEM, on=date(2026, 6, 3), limit=10, offset=0)
    assert total == 1 and rows[0]["customer_account_id"] == other.id
    # Friday 5 June: the eve of a weekend, no one is listed for a cut.
    assert cut_eligible(db, SYSTEM, on=date(2026, 6, 5), limit=10, offset=0)[1] == 0
    # Lifting the hold lets the cut step fire the next working night.
    hold = db.scalars(
        select(CollectionHold).where(CollectionHold.customer_account_id == vulnerable.id)
    ).one()
    hold.end_date = date(2026, 6, 7)
    nights(db, date(2026, 6, 6), date(2026, 6, 8))
    assert steps_done(db, vulnerable.id)[-1] == (3, date(2026, 6, 8))
    books_hold(db)


def test_a_bill_cancelled_without_an_event_leaves_dunning_the_next_night(db) -> None:
    """A credited bill closes its item (no payment event): the nightly pass notices."""
    from billing.payments.allocation import release_item

    policy(db, rate="0")
    account = make_account(db)
    bill = invoice(db, account, 9_000, DUE, "F-DUN-6")
    nights(db, date(2026, 4, 30), date(2026, 5, 8))
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8))]
    release_item(db, SYSTEM, bill, reason="bill credited by a credit note")
    nights(db, date(2026, 5, 9), date(2026, 5, 31))
    file = db.get(CollectionFile, account.id)
    assert file is not None and (file.status, file.overdue_amount) == ("current", 0)
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8))]
