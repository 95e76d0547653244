"""What the foreign keys of ``collection_action`` guaranteed, now checked once per
statement (migration 0025): an action names an existing account, step and fee item, and
an account, step or item that an action names cannot be deleted. Same SQLSTATE, 23503."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.billing.collections.helpers import DUE, nights, policy
from tests.billing.payments.helpers import invoice, make_account

INSERT = """
    INSERT INTO collection_action (customer_account_id, step_id, position, action, channel,
                                   cycle_start, done_on, amount_due, fee_item_id)
    VALUES (:account, :step, 1, 'notice', 'sms', DATE '2026-03-31', DATE '2026-05-08', 1,
            :fee)
"""


def _refused(db, sql: str, params: dict) -> None:
    with pytest.raises(IntegrityError) as caught, db.begin_nested():
        db.execute(text(sql), params)
    assert caught.value.orig.sqlstate == "23503"


def test_an_action_names_what_exists_and_keeps_it(db) -> None:
    rules = policy(db, rate="0")
    account = make_account(db)
    invoice(db, account, 20_000, DUE, "F-REFS-1")
    nights(db, date(2026, 5, 1), date(2026, 5, 8))  # the reminder, on 8 May
    step = db.execute(
        text("SELECT step_id FROM collection_action WHERE customer_account_id = :a"),
        {"a": account.id},
    ).scalar_one()
    _refused(db, INSERT, {"account": 2**62, "step": step, "fee": None})
    _refused(db, INSERT, {"account": account.id, "step": 2**62, "fee": None})
    _refused(db, INSERT, {"account": account.id, "step": step, "fee": 2**62})
    _refused(db, "UPDATE collection_action SET step_id = :s WHERE customer_account_id = :a",
             {"s": 2**62, "a": account.id})  # fmt: skip
    _refused(db, "DELETE FROM collection_step WHERE id = :s", {"s": step})
    _refused(db, "DELETE FROM customer_account WHERE id = :a", {"a": account.id})
    # A step no action names still goes (the policy's third, never done).
    db.execute(
        text("DELETE FROM collection_step WHERE policy_id = :p AND position = 3"), {"p": rules.id}
    )
