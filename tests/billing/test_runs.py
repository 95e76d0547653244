"""Billing runs end to end: select, simulate, control, approve (four eyes), issue; issuing
twice or a second run over the same period bills nothing more; the ledger holds."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.invoices import repository as invoices
from billing.runs import runner, service
from billing.runs.errors import BillingRunApproverIsPreparerError
from billing.runs.models import BillingRun
from billing.runs.schemas import RunCreate, Selection
from tests.billing.world import (
    APPROVER,
    PREPARER,
    customer,
    ledger_is_clean,
    month_total,
    read,
)

JAN = (date(2026, 1, 1), date(2026, 2, 1))


def prepare(db: Session, ids: list[int], **settings) -> BillingRun:
    return service.create_run(
        db,
        PREPARER,
        RunCreate(
            period_start=JAN[0],
            period_end=JAN[1],
            issue_date=date(2026, 2, 3),
            selection=Selection(usage_point_ids=ids),
            chunk_size=2,
            **settings,
        ),
    )


def bill_january(db: Session, ids: list[int], **settings) -> BillingRun:
    run = prepare(db, ids, **settings)
    runner.simulate(db, PREPARER, run.id)
    service.approve(db, APPROVER, run.id)
    runner.issue(db, APPROVER, run.id)
    db.refresh(run)
    return run


def issued(db: Session, ids: list[int]) -> list[tuple]:
    return db.execute(
        text(
            "SELECT usage_point_id, number, total, kind, status FROM billing_invoice "
            "WHERE usage_point_id = ANY(:ids) ORDER BY usage_point_id, id"
        ),
        {"ids": ids},
    ).all()


def test_a_run_bills_measured_customers_and_parks_the_doubtful(db: Session) -> None:
    big, small, unread, idle = (customer(db) for _ in range(4))
    read(db, big, date(2026, 1, 31), 150)
    read(db, small, date(2026, 1, 31), 80)
    read(db, idle, date(2026, 1, 31), 0)
    ids = [big.usage_point_id, small.usage_point_id, unread.usage_point_id, idle.usage_point_id]

    run = bill_january(db, ids)

    assert run.status == "issued"
    got = {up: total for up, _n, total, _k, _s in issued(db, ids)}
    # 150 kWh: 500 + 100*50 + 50*80 = 9500 net, TVA 18 % = 1710 -> 11210
    # 80 kWh: 500 + 80*50 = 4500 net, TVA 810 -> 5310
    assert got == {big.usage_point_id: 11210, small.usage_point_id: 5310}
    assert month_total(150) == 11210 and month_total(80) == 5310
    progress = service.progress(db, PREPARER, run.id)
    assert progress.by_status == {"issued": 2, "parked": 2}
    assert progress.by_check == {"missing_read": 1, "zero": 1}
    assert progress.issued_total == {"XOF": 16520}
    parked, total = service.control_report(db, PREPARER, run.id, status="parked")
    assert total == 2
    assert {p.usage_point_id: p.checks for p in parked} == {
        unread.usage_point_id: ["missing_read"],
        idle.usage_point_id: ["zero"],
    }
    ledger_is_clean(db)
    balance = db.execute(
        text(
            "SELECT a.code, sum(p.amount) FROM billing_ledger_posting p "
            "JOIN billing_ledger_account a ON a.id = p.account_id "
            "JOIN billing_ledger_transaction t ON t.id = p.transaction_id "
            "WHERE t.source_ref IN (SELECT number FROM billing_invoice WHERE run_id = :r) "
            "GROUP BY a.code ORDER BY a.code"
        ),
        {"r": run.id},
    ).all()
    # receivable = 11210 + 5310; energy 9000 + 4000; fixed 500 * 2; TVA 1710 + 810
    assert balance == [
        ("receivable", 16520),
        ("revenue:energy", -13000),
        ("revenue:fixed", -1000),
        ("tax:vat", -2520),
    ]


def test_numbers_are_consecutive_and_carry_a_payment_reference(db: Session) -> None:
    people = [customer(db) for _ in range(5)]
    for who in people:
        read(db, who, date(2026, 1, 31), 120)
    run = bill_january(db, [p.usage_point_id for p in people])
    rows = db.execute(
        text("SELECT seq, payment_reference FROM billing_invoice WHERE run_id = :r ORDER BY seq"),
        {"r": run.id},
    ).all()
    seqs = [s for s, _ in rows]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    from stdnum import iso11649

    assert all(iso11649.is_valid(ref) for _, ref in rows)


def test_the_preparer_cannot_approve(db: Session) -> None:
    who = customer(db)
    read(db, who, date(2026, 1, 31), 120)
    run = prepare(db, [who.usage_point_id])
    runner.simulate(db, PREPARER, run.id)
    with pytest.raises(BillingRunApproverIsPreparerError) as refused:
        service.approve(db, PREPARER, run.id)
    assert refused.value.code == "billing_run_approver_is_preparer"


def test_issuing_twice_bills_nothing_more(db: Session) -> None:
    who = customer(db)
    read(db, who, date(2026, 1, 31), 120)
    run = bill_january(db, [who.usage_point_id])
    before = issued(db, [who.usage_point_id])
    runner.issue(db, APPROVER, run.id)
    runner.issue(db, APPROVER, run.id)
    assert issued(db, [who.usage_point_id]) == before
    assert len(before) == 1
    ledger_is_clean(db)


def test_a_second_run_over_the_same_period_bills_nothing_more(db: Session) -> None:
    who = customer(db)
    read(db, who, date(2026, 1, 31), 120)
    bill_january(db, [who.usage_point_id])
    second = bill_january(db, [who.usage_point_id])
    assert second.status == "issued"
    assert len(issued(db, [who.usage_point_id])) == 1
    progress = service.progress(db, PREPARER, second.id)
    assert progress.by_status == {"skipped": 1}
    assert progress.by_check == {"already_billed": 1}
    ledger_is_clean(db)


def test_simulated_lines_are_the_issued_lines(db: Session) -> None:
    who = customer(db)
    read(db, who, date(2026, 1, 31), 237)
    run = bill_january(db, [who.usage_point_id])
    invoice = invoices.invoices_page(db, PREPARER, run_id=run.id)[0][0]
    from billing.runs.rater import Rater

    expected = Rater(db).bill(
        "KW-TEST",
        invoice_period(invoice),
        {"total": invoice.kwh},
        category="residential",
        connection_type="single_phase",
        subscribed_kva=invoice.subscribed_kva,
    )
    lines = invoices.lines_of(db, invoice.id)
    assert [(ln.component, ln.amount) for ln in lines] == [
        (ln.component, ln.amount) for ln in expected.lines
    ]
    assert invoice.total == expected.total == month_total(237)


def invoice_period(invoice):
    from core.periods import Period

    return Period(invoice.period_start, invoice.period_end)
