"""The ``opening_balances`` file: balances taken over post balanced ledger transactions
(receivable sub-ledger against ``equity:opening``), re-imports post nothing twice, bad
rows are named and nothing is written, the export gives the same file back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.ledger import repository
from core.migration.export import run_export
from tests.billing.test_ledger import make_account, payment
from tests.customers.migration_files import base, load, refused

HEADER = "account_number,amount,currency,balance_date"


def balances(*lines: str) -> str:
    return "\n".join([HEADER, *lines])


def equity_opening(db: Session) -> int:
    """The offset account's balance: the opposite of every opening balance posted."""
    return int(
        db.scalar(
            text(
                "SELECT coalesce(sum(p.amount), 0) FROM billing_ledger_posting p "
                "JOIN billing_ledger_account a ON a.id = p.account_id WHERE a.code = 'equity:opening'"
            )
        )
    )


def opening_transactions(db: Session) -> int:
    return int(
        db.scalar(
            text("SELECT count(*) FROM billing_ledger_transaction WHERE kind = 'opening_balance'")
        )
    )


def test_balances_post_to_the_ledger_once(db: Session, tmp_path: Path) -> None:
    owes, in_credit, euro = make_account(db), make_account(db), make_account(db)
    files = balances(
        f"{owes.number},12500,XOF,2024-12-31",
        f"{in_credit.number},-3000,,2024-12-31",  # the deployment's currency: XOF
        f"{euro.number},125.40,EUR,2024-12-31",
    )
    report = load(db, base(tmp_path, opening_balances=files))
    counts = report.entities["opening_balances"]
    assert (counts.inserted, counts.updated, counts.unchanged) == (3, 0, 0)
    got = repository.balances(db, [owes.id, in_credit.id, euro.id])
    assert got == {
        owes.id: {"XOF": 12500},
        in_credit.id: {"XOF": -3000},
        euro.id: {"EUR": 12540},  # 125.40 EUR in cents
    }
    # equity:opening holds the opposite: -(12 500 - 3 000) XOF - 12 540 cents, summed
    # across currencies here only to check every posting has its mirror.
    assert equity_opening(db) == -(12500 - 3000) - 12540
    statement = repository.statement(db, owes.id)
    assert [
        (line.entry_date, line.kind, line.source_ref, line.amount) for line in statement.lines
    ] == [(date(2024, 12, 31), "opening_balance", f"opening:{owes.number}", 12500)]
    assert repository.check(db).ok

    # The same file again: nothing posted twice.
    again = load(db, base(tmp_path, opening_balances=files)).entities["opening_balances"]
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert opening_transactions(db) == 3
    assert repository.balances(db, [owes.id])[owes.id] == {"XOF": 12500}
    assert repository.check(db).ok


def test_later_documents_run_on_from_the_opening_balance(db: Session, tmp_path: Path) -> None:
    account = make_account(db)
    load(db, base(tmp_path, opening_balances=balances(f"{account.number},8000,XOF,2024-12-31")))
    payment(db, account, 5000, date(2025, 1, 10))
    statement = repository.statement(db, account.id, date_from=date(2025, 1, 1))
    assert statement.opening == {"XOF": 8000}
    assert statement.closing == {"XOF": 3000}  # 8 000 owed - 5 000 paid
    assert repository.check(db).ok


def test_a_changed_balance_is_refused_not_posted_again(db: Session, tmp_path: Path) -> None:
    account = make_account(db)
    load(db, base(tmp_path, opening_balances=balances(f"{account.number},8000,XOF,2024-12-31")))
    problems = refused(
        db, base(tmp_path, opening_balances=balances(f"{account.number},9000,XOF,2024-12-31"))
    )
    assert problems == {("opening_balances.csv", 2, "amount", "opening_balance_posted")}
    assert opening_transactions(db) == 1
    assert repository.balances(db, [account.id])[account.id] == {"XOF": 8000}


def test_bad_rows_are_named_and_nothing_is_written(db: Session, tmp_path: Path) -> None:
    account, other, third, fourth = (make_account(db) for _ in range(4))
    files = balances(
        f"{account.number},12.5,XOF,2024-12-31",  # XOF has no decimals
        "9999999999,100,XOF,2024-12-31",  # no such account
        f"{other.number},100,XYZ,2024-12-31",  # no such currency
        f"{third.number},100,EUR,2999-01-01",  # in the future
        f"{account.number},5,XOF,2024-12-31",  # the same account twice
        f"{fourth.number},abc,EUR,2024-12-31",
    )
    problems = refused(db, base(tmp_path, opening_balances=files))
    assert problems == {
        ("opening_balances.csv", 2, "amount", "amount_precision"),
        ("opening_balances.csv", 3, "account_number", "reference_unknown"),
        ("opening_balances.csv", 4, "currency", "invalid_currency"),
        ("opening_balances.csv", 5, "balance_date", "date_in_future"),
        ("opening_balances.csv", 6, "account_number", "duplicate_key"),
        ("opening_balances.csv", 7, "amount", "invalid_decimal"),
    }
    assert opening_transactions(db) == 0


def test_a_zero_balance_posts_nothing_and_is_noted(db: Session, tmp_path: Path) -> None:
    account = make_account(db)
    report = load(
        db, base(tmp_path, opening_balances=balances(f"{account.number},0,XOF,2024-12-31"))
    )
    assert report.entities["opening_balances"].inserted == 0
    assert opening_transactions(db) == 0
    assert [n.code for n in report.notes] == ["nothing_to_post"]


def test_export_gives_the_file_back(db: Session, tmp_path: Path) -> None:
    first, second = make_account(db), make_account(db)
    rows = sorted(
        [f"{first.number},-3000,XOF,2024-12-31", f"{second.number},125.40,EUR,2024-12-31"]
    )
    load(db, base(tmp_path, opening_balances=balances(*rows)))
    run_export(db, tmp_path / "out")
    exported = (tmp_path / "out" / "opening_balances.csv").read_text().splitlines()
    mine = [line for line in exported[1:] if line.split(",")[0] in {first.number, second.number}]
    assert exported[0] == HEADER
    assert mine == rows
    # And importing the export posts nothing more.
    again = load(db, base(tmp_path, opening_balances="\n".join([HEADER, *mine])))
    assert again.entities["opening_balances"].unchanged == 2
