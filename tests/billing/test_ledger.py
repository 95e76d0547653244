"""The ledger: double entry enforced by the database, append-only postings, reversals,
account statements and ``ledger check``."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from billing.ledger import repository, service
from billing.ledger.errors import (
    LedgerAccountConflictError,
    LedgerPostingInvalidError,
    LedgerSourcePostedError,
    LedgerTransactionReversedError,
    LedgerTransactionUnbalancedError,
)
from billing.ledger.models import AccountKind, TransactionKind
from billing.ledger.service import ChartEntry, Line
from core.context import SYSTEM, Actor
from customers import service as customers
from customers.models import Account
from customers.schemas import AccountCreate, PartyCreate

DESK = Actor(user_id=None, username="test-ledger", scopes=frozenset({"customers:write"}))


def make_account(db: Session) -> Account:
    party, _ = customers.create_party(
        db, actor=DESK, data=PartyCreate(kind="person", first_name="Awa", last_name="Dossou")
    )
    return customers.create_account(db, actor=DESK, data=AccountCreate(payer_party_id=party.id))


def invoice(db: Session, account: Account, amount: int, on: date, ref: str | None = None):
    """An invoice of ``amount`` XOF: 18 % of it is VAT (rounded down), the rest energy."""
    vat = amount * 18 // 118
    return service.post(
        db,
        SYSTEM,
        kind=TransactionKind.INVOICE,
        entry_date=on,
        currency="XOF",
        source_ref=ref,
        lines=[
            Line("receivable", amount, account.id),
            Line("revenue:energy", -(amount - vat)),
            Line("tax:vat", -vat),
        ],
    )


def payment(db: Session, account: Account, amount: int, on: date):
    return service.post(
        db,
        SYSTEM,
        kind=TransactionKind.PAYMENT,
        entry_date=on,
        currency="XOF",
        lines=[Line("cash", amount), Line("receivable", -amount, account.id)],
    )


def enforce_now(db: Session) -> None:
    """Fire the deferred checks now, as the commit would (the test never commits)."""
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_the_migration_seeds_a_chart_with_one_receivable_control_account(db) -> None:
    codes = dict(
        db.execute(text("SELECT code, kind FROM billing_ledger_account ORDER BY code")).all()
    )
    assert codes["receivable"] == "asset"
    assert codes["revenue:energy"] == "revenue"
    assert codes["tax:vat"] == "liability"
    assert codes["expense:write_off"] == "expense"
    assert db.scalar(
        text("SELECT array_agg(code) FROM billing_ledger_account WHERE per_customer_account")
    ) == ["receivable"]


def test_the_chart_is_configurable_but_an_account_never_changes_meaning(db) -> None:
    service.load_chart(db, [ChartEntry("revenue:abo", "Abonnement", AccountKind.REVENUE)])
    service.load_chart(db, [ChartEntry("revenue:abo", "Abonnement mensuel", AccountKind.REVENUE)])
    assert db.scalar(
        text("SELECT name FROM billing_ledger_account WHERE code = 'revenue:abo'")
    ) == ("Abonnement mensuel")
    with pytest.raises(LedgerAccountConflictError):
        service.load_chart(db, [ChartEntry("revenue:abo", "Abonnement", AccountKind.EXPENSE)])


def test_a_balanced_invoice_is_posted_and_enforced_at_commit(db) -> None:
    account = make_account(db)
    txn = invoice(db, account, 11800, date(2025, 3, 31), "F-0001")
    enforce_now(db)
    rows = db.execute(
        text(
            "SELECT a.code, p.amount FROM billing_ledger_posting p "
            "JOIN billing_ledger_account a ON a.id = p.account_id "
            "WHERE p.transaction_id = :t ORDER BY p.id"
        ),
        {"t": txn.id},
    ).all()
    # 11800 * 18 // 118 = 1800 of VAT, 10000 of energy.
    assert rows == [("receivable", 11800), ("revenue:energy", -10000), ("tax:vat", -1800)]
    assert repository.balances(db, [account.id]) == {account.id: {"XOF": 11800}}


def test_the_service_refuses_what_does_not_balance_or_misses_its_sub_ledger(db) -> None:
    account = make_account(db)
    post = lambda lines: service.post(  # noqa: E731
        db, SYSTEM, kind=TransactionKind.FEE, entry_date=date(2025, 1, 1), currency="XOF",
        lines=lines,
    )  # fmt: skip
    with pytest.raises(LedgerTransactionUnbalancedError):
        post([Line("receivable", 500, account.id), Line("revenue:fees", -499)])
    with pytest.raises(LedgerTransactionUnbalancedError):
        post([Line("cash", 0)])
    with pytest.raises(LedgerPostingInvalidError):
        post([Line("receivable", 500), Line("revenue:fees", -500)])
    with pytest.raises(LedgerPostingInvalidError):
        post([Line("cash", 500, account.id), Line("revenue:fees", -500)])
    with pytest.raises(LedgerPostingInvalidError):
        post([Line("nowhere", 500), Line("revenue:fees", -500)])


def test_the_same_source_document_is_posted_once(db) -> None:
    account = make_account(db)
    invoice(db, account, 1000, date(2025, 3, 31), "F-0002")
    with pytest.raises(LedgerSourcePostedError):
        invoice(db, account, 1000, date(2025, 3, 31), "F-0002")
    assert repository.balances(db, [account.id]) == {account.id: {"XOF": 1000}}


def test_the_database_refuses_an_unbalanced_transaction_at_commit(db) -> None:
    """Written behind the service's back: the deferred trigger still refuses it."""
    txn = db.scalar(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-01-01', 'fee', 'XOF') RETURNING id"
        )
    )
    db.execute(
        text(
            "INSERT INTO billing_ledger_posting (transaction_id, account_id, amount) "
            "SELECT :t, id, 700 FROM billing_ledger_account WHERE code = 'cash'"
        ),
        {"t": txn},
    )
    with pytest.raises(DBAPIError, match="does not balance: 1 postings summing to 700"):
        enforce_now(db)


def test_a_real_commit_of_an_unbalanced_transaction_fails(engine: Engine) -> None:
    with engine.connect() as connection:
        txn = connection.scalar(
            text(
                "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
                "VALUES ('2025-01-01', 'fee', 'XOF') RETURNING id"
            )
        )
        connection.execute(
            text(
                "INSERT INTO billing_ledger_posting (transaction_id, account_id, amount) "
                "SELECT :t, id, amount FROM billing_ledger_account, "
                "(VALUES ('cash', 700), ('revenue:fees', -600)) AS v(code, amount) "
                "WHERE billing_ledger_account.code = v.code"
            ),
            {"t": txn},
        )
        with pytest.raises(DBAPIError, match="does not balance: 2 postings summing to 100"):
            connection.commit()
    with engine.connect() as connection:
        assert (
            connection.scalar(
                text("SELECT count(*) FROM billing_ledger_transaction WHERE id = :t"), {"t": txn}
            )
            == 0
        )


def test_a_transaction_without_postings_is_refused(db) -> None:
    db.execute(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-01-01', 'fee', 'XOF')"
        )
    )
    with pytest.raises(DBAPIError, match="0 postings summing to 0"):
        enforce_now(db)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE billing_ledger_posting SET amount = amount * 2",
        "DELETE FROM billing_ledger_posting",
        "UPDATE billing_ledger_transaction SET entry_date = '2020-01-01'",
        "DELETE FROM billing_ledger_transaction",
        "TRUNCATE billing_ledger_posting CASCADE",
    ],
)
def test_postings_and_transactions_are_append_only(db, statement: str) -> None:
    invoice(db, make_account(db), 5900, date(2025, 2, 28))
    enforce_now(db)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))


def test_a_receivable_posting_without_its_customer_account_is_refused_by_the_database(
    db,
) -> None:
    txn = db.scalar(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-01-01', 'fee', 'XOF') RETURNING id"
        )
    )
    with pytest.raises(DBAPIError, match="sub-ledger"):
        db.execute(
            text(
                "INSERT INTO billing_ledger_posting (transaction_id, account_id, amount) "
                "SELECT :t, id, 700 FROM billing_ledger_account WHERE code = 'receivable'"
            ),
            {"t": txn},
        )


def test_a_reversal_nets_to_zero_and_happens_once(db) -> None:
    account = make_account(db)
    original = invoice(db, account, 2360, date(2025, 4, 30), "F-0003")
    reversal = service.reverse(db, SYSTEM, original.id, entry_date=date(2025, 5, 2))
    enforce_now(db)
    assert reversal.reverses_id == original.id
    assert reversal.source_ref == "F-0003"
    assert repository.balances(db, [account.id]) == {account.id: {"XOF": 0}}
    per_account = db.execute(
        text(
            "SELECT account_id, sum(amount) FROM billing_ledger_posting "
            "WHERE transaction_id IN (:a, :b) GROUP BY account_id"
        ),
        {"a": original.id, "b": reversal.id},
    ).all()
    assert len(per_account) == 3 and {total for _, total in per_account} == {0}
    with pytest.raises(LedgerTransactionReversedError):
        service.reverse(db, SYSTEM, original.id, entry_date=date(2025, 5, 3))
    with pytest.raises(LedgerTransactionReversedError):
        service.reverse(db, SYSTEM, reversal.id, entry_date=date(2025, 5, 3))


def test_a_statement_has_its_opening_and_running_balance(db) -> None:
    account = make_account(db)
    other = make_account(db)
    invoice(db, account, 10000, date(2025, 1, 31))  # before the range: opening 10000
    payment(db, account, 4000, date(2025, 2, 15))  # opening 10000 - 4000 = 6000
    invoice(db, other, 99999, date(2025, 3, 5))  # another customer: not on the statement
    invoice(db, account, 7080, date(2025, 3, 31), "F-0301")  # 6000 + 7080 = 13080
    payment(db, account, 13080, date(2025, 4, 10))  # 13080 - 13080 = 0
    fee = service.post(
        db,
        SYSTEM,
        kind=TransactionKind.FEE,
        entry_date=date(2025, 4, 20),
        currency="XOF",
        source_ref="RECO-1",
        lines=[Line("receivable", 2500, account.id), Line("revenue:fees", -2500)],
    )  # 0 + 2500 = 2500
    invoice(db, account, 5900, date(2025, 5, 31))  # after the range
    enforce_now(db)

    result = repository.statement(
        db, account.id, date_from=date(2025, 3, 1), date_to=date(2025, 4, 30)
    )
    assert result.opening == {"XOF": 6000}
    assert [(line.entry_date, line.kind, line.amount, line.balance) for line in result.lines] == [
        (date(2025, 3, 31), "invoice", 7080, 13080),
        (date(2025, 4, 10), "payment", -13080, 0),
        (date(2025, 4, 20), "fee", 2500, 2500),
    ]
    assert result.lines[2].transaction_id == fee.id and result.lines[2].source_ref == "RECO-1"
    assert result.closing == {"XOF": 2500}
    everything = repository.statement(db, account.id)
    assert everything.opening == {} and everything.closing == {"XOF": 8400}  # 2500 + 5900
    assert repository.balances(db, [account.id, other.id]) == {
        account.id: {"XOF": 8400},
        other.id: {"XOF": 99999},
    }


def test_the_ledger_check_command_reports_zero_imbalance(database_url) -> None:
    """On the committed books (a separate session, as an operator would run it)."""
    from kilowatch.cli import app

    result = CliRunner().invoke(app, ["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "0 unbalanced (total imbalance 0), 0 sub-ledger gaps" in result.output


def test_ledger_check_holds_after_a_scenario(db) -> None:
    account = make_account(db)
    original = invoice(db, account, 11800, date(2025, 1, 31))
    payment(db, account, 5000, date(2025, 2, 10))
    service.reverse(db, SYSTEM, original.id, entry_date=date(2025, 2, 11))
    enforce_now(db)
    report = repository.check(db)
    assert report.ok and report.total_imbalance == 0 and report.transactions >= 3


def test_ledger_check_finds_a_planted_imbalance_and_a_sub_ledger_gap(db) -> None:
    invoice(db, make_account(db), 1180, date(2025, 1, 31))
    enforce_now(db)
    # Planted behind the triggers' back, as a restore or a bug in SQL might.
    for table in ("billing_ledger_transaction", "billing_ledger_posting"):
        db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER balanced"))
    db.execute(text("ALTER TABLE billing_ledger_posting DISABLE TRIGGER subledger"))
    planted = db.scalar(
        text(
            "INSERT INTO billing_ledger_transaction (entry_date, kind, currency) "
            "VALUES ('2025-02-01', 'fee', 'XOF') RETURNING id"
        )
    )
    db.execute(
        text(
            "INSERT INTO billing_ledger_posting (transaction_id, account_id, amount) "
            "SELECT :t, id, 300 FROM billing_ledger_account WHERE code = 'receivable'"
        ),
        {"t": planted},
    )
    report = repository.check(db)
    assert [(i.transaction_id, i.postings, i.total) for i in report.imbalances] == [
        (planted, 1, 300)
    ]
    assert report.total_imbalance == 300
    assert [gap.account_code for gap in report.subledger_gaps] == ["receivable"]
    gap = report.subledger_gaps[0]
    assert gap.control_total - gap.subledger_total == 300
