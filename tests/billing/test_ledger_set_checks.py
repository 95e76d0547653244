"""The ledger's set-based checks (migration 0019): a statement notes the transactions it
touched, one deferred check per statement proves them balanced at commit; the sub-ledger
rule is checked on the statement's rows at once. Bulk writes (COPY of thousands of
postings) are held to exactly what a single posting is."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.bulk import copy_columns

TXN_IDS = "SELECT nextval('billing_ledger_transaction_id_seq') FROM generate_series(1, :n)"


def _account(connection: Connection | Session, code: str) -> int:
    return int(
        connection.scalar(
            text("SELECT id FROM billing_ledger_account WHERE code = :c"), {"c": code}
        )
    )


def _copy_fees(session: Session, amounts: list[tuple[int, int]]) -> list[int]:
    """One fee transaction per (cash, revenue) pair, written as two COPYs: the
    transactions, then all their postings in one statement."""
    ids = [int(i) for i in session.scalars(text(TXN_IDS), {"n": len(amounts)})]
    copy_columns(
        session,
        "billing_ledger_transaction",
        {
            "id": [str(i) for i in ids],
            "entry_date": ["2025-03-01"] * len(ids),
            "kind": ["fee"] * len(ids),
            "currency": ["XOF"] * len(ids),
        },
    )
    cash, fees = _account(session, "cash"), _account(session, "revenue:fees")
    postings: dict[str, list[str]] = {"transaction_id": [], "account_id": [], "amount": []}
    for txn, (debit, credit) in zip(ids, amounts, strict=True):
        for account, amount in ((cash, debit), (fees, -credit)):
            postings["transaction_id"].append(str(txn))
            postings["account_id"].append(str(account))
            postings["amount"].append(str(amount))
    copy_columns(session, "billing_ledger_posting", postings)
    return ids


def test_a_balanced_copy_of_many_transactions_commits_and_leaves_nothing_to_check(
    engine: Engine,
) -> None:
    with Session(bind=engine) as session:
        ids = _copy_fees(session, [(100 * k, 100 * k) for k in range(1, 201)])
        session.commit()
    with engine.connect() as connection:
        # 200 transactions x 2 postings, each summing to 100k - 100k = 0.
        assert (
            connection.scalar(
                text("SELECT count(*) FROM billing_ledger_posting WHERE transaction_id = ANY(:t)"),
                {"t": ids},
            )
            == 400
        )
        # The notes of what to check live only inside the writing transaction.
        assert connection.scalar(text("SELECT count(*) FROM billing_ledger_unchecked")) == 0


def test_one_unbalanced_transaction_in_a_copy_refuses_the_whole_commit(engine: Engine) -> None:
    # The 57th of 100 transactions debits 5700 and credits 5600: off by 100.
    amounts = [(100 * k, 100 * k if k != 57 else 100 * k - 100) for k in range(1, 101)]
    with Session(bind=engine) as session:
        ids = _copy_fees(session, amounts)
        with pytest.raises(
            DBAPIError,
            match=f"ledger transaction {ids[56]} does not balance: 2 postings summing to 100",
        ):
            session.commit()
    with engine.connect() as connection:
        assert (
            connection.scalar(
                text("SELECT count(*) FROM billing_ledger_transaction WHERE id = ANY(:t)"),
                {"t": ids},
            )
            == 0
        )


def test_postings_of_one_transaction_may_come_in_several_statements(db: Session) -> None:
    """Checked at commit, not per statement: 700 then -700 in a second INSERT balances."""
    txn = db.scalar(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-01-01', 'fee', 'XOF') RETURNING id"
        )
    )
    for code, amount in (("cash", 700), ("revenue:fees", -700)):
        db.execute(
            text(
                "INSERT INTO billing_ledger_posting (transaction_id, account_id, amount) "
                "VALUES (:t, :a, :m)"
            ),
            {"t": txn, "a": _account(db, code), "m": amount},
        )
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # what the commit does: no error
    assert db.scalar(text("SELECT count(*) FROM billing_ledger_unchecked")) == 0


def test_a_transaction_left_without_postings_among_balanced_ones_is_refused(db: Session) -> None:
    _copy_fees(db, [(500, 500), (600, 600)])
    lonely = db.scalar(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-01-01', 'fee', 'XOF') RETURNING id"
        )
    )
    with pytest.raises(
        DBAPIError, match=f"ledger transaction {lonely} does not balance: 0 postings summing to 0"
    ):
        db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_one_bad_sub_ledger_row_refuses_the_whole_statement(db: Session) -> None:
    """A receivable posting must name its customer account: one row without it among
    valid ones refuses the multi-row INSERT."""
    txn = db.scalar(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-01-01', 'fee', 'XOF') RETURNING id"
        )
    )
    receivable = _account(db, "receivable")
    with pytest.raises(DBAPIError, match=f"posting on account {receivable}: .*sub-ledger"):
        db.execute(
            text(
                "INSERT INTO billing_ledger_posting (transaction_id, account_id, amount) "
                "VALUES (:t, :cash, 300), (:t, :fees, -200), (:t, :receivable, -100)"
            ),
            {
                "t": txn,
                "cash": _account(db, "cash"),
                "fees": _account(db, "revenue:fees"),
                "receivable": receivable,
            },
        )
