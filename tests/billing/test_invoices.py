"""Invoices: the database refuses overlapping periods, edits of issued documents and
numbering gaps; credit note + re-bill, true-up of an estimated bill, the final bill of a
move-out. The ledger holds after each (``ledger check`` reports zero imbalance)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billing.invoices import repository, service
from billing.invoices.enums import InvoiceReason
from billing.invoices.errors import (
    InvoiceAlreadyCreditedError,
    InvoicePeriodBilledError,
    TrueUpNotReadyError,
)
from billing.invoices.models import Invoice
from core.context import SYSTEM
from core.periods import Period
from customers import contract_service
from customers.schemas import MoveOutRequest
from tests.billing.test_runs import bill_january
from tests.billing.world import customer, estimate, ledger_is_clean, month_total, read

JANUARY = Period(date(2026, 1, 1), date(2026, 2, 1))


def january_bill(db: Session, kwh: int = 150) -> Invoice:
    who = customer(db)
    return service.issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=JANUARY,
        kwh={"total": Decimal(kwh)},
        reason=InvoiceReason.CYCLE,
        issue_date=date(2026, 2, 3),
    )


def receivable(db: Session, account_id: int) -> int:
    return int(
        db.execute(
            text(
                "SELECT coalesce(sum(p.amount), 0) FROM billing_ledger_posting p "
                "JOIN billing_ledger_account a ON a.id = p.account_id "
                "WHERE a.code = 'receivable' AND p.customer_account_id = :a"
            ),
            {"a": account_id},
        ).scalar_one()
    )


def sqlstate(error: DBAPIError) -> str:
    return getattr(error.orig, "sqlstate", "")


def copy_of(db: Session, invoice: Invoice, *, seq_offset: int = 1, start: str, end: str) -> None:
    """A raw INSERT of a twin of ``invoice`` with the next number(s) drawn by hand."""
    db.execute(
        text("UPDATE billing_invoice_series SET last_number = last_number + :n WHERE series='F'"),
        {"n": seq_offset},
    )
    db.execute(
        text(
            "INSERT INTO billing_invoice (series, seq, number, kind, status, reason, account_id,"
            " usage_point_id, contract_id, period_start, period_end, issue_date, due_date,"
            " currency, tariff_code, category, connection_type, subscribed_kva, consumption,"
            " kwh, estimated, net, taxes, rounding, total, payment_reference, issued_by)"
            " SELECT series, (SELECT last_number FROM billing_invoice_series WHERE series='F'),"
            " 'RAW-' || id, kind, status, reason, account_id, usage_point_id, contract_id,"
            " CAST(:start AS date), CAST(:end AS date), issue_date, due_date, currency,"
            " tariff_code, category, connection_type, subscribed_kva, consumption, kwh,"
            " estimated, net, taxes, rounding, total, payment_reference, issued_by"
            " FROM billing_invoice WHERE id = :id"
        ),
        {"id": invoice.id, "start": start, "end": end},
    )


def test_the_database_refuses_an_overlapping_issued_period(db: Session) -> None:
    bill = january_bill(db)
    with pytest.raises(DBAPIError) as refused, db.begin_nested():
        copy_of(db, bill, start="2026-01-31", end="2026-02-28")
    assert sqlstate(refused.value) == "23P01"  # exclusion_violation
    # the day after the period is free
    copy_of(db, bill, start="2026-02-01", end="2026-03-01")


def test_the_service_refuses_an_overlapping_period_with_a_code(db: Session) -> None:
    bill = january_bill(db)
    with pytest.raises(InvoicePeriodBilledError) as refused:
        service.issue_bill(
            db,
            SYSTEM,
            contract_id=bill.contract_id,
            period=Period(date(2026, 1, 15), date(2026, 2, 15)),
            kwh={"total": Decimal(10)},
            reason=InvoiceReason.CYCLE,
        )
    assert refused.value.code == "invoice_period_billed"


def test_an_issued_invoice_cannot_be_edited_or_deleted(db: Session) -> None:
    bill = january_bill(db)
    for statement in (
        "UPDATE billing_invoice SET total = total + 1, net = net + 1 WHERE id = :id",
        "UPDATE billing_invoice SET period_end = '2026-01-20' WHERE id = :id",
        "DELETE FROM billing_invoice WHERE id = :id",
        "UPDATE billing_invoice_line SET amount = 0 WHERE invoice_id = :id",
        "DELETE FROM billing_invoice_line WHERE invoice_id = :id",
    ):
        with pytest.raises(DBAPIError) as refused, db.begin_nested():
            db.execute(text(statement), {"id": bill.id})
        assert sqlstate(refused.value) == "42501", statement  # insufficient_privilege
    # a credited invoice cannot go back to issued either
    db.execute(
        text("UPDATE billing_invoice SET status = 'credited' WHERE id = :id"), {"id": bill.id}
    )
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(
            text("UPDATE billing_invoice SET status = 'issued' WHERE id = :id"), {"id": bill.id}
        )


def test_the_database_refuses_a_gap_in_the_numbering(db: Session) -> None:
    bill = january_bill(db)
    with pytest.raises(DBAPIError) as refused, db.begin_nested():
        # the counter moved by 2 but only one number is used: seq - 1 is missing
        copy_of(db, bill, seq_offset=2, start="2026-03-01", end="2026-04-01")
    assert refused.value.orig.diag.constraint_name == "billing_invoice_numbering_gap"


def test_a_credit_note_and_a_rebill_correct_an_invoice(db: Session) -> None:
    bill = january_bill(db, 150)
    # 150 kWh: (500 + 100*50 + 50*80) * 1.18 = 9500 + 1710 = 11210
    assert bill.total == 11210
    credit_note, rebill = service.rebill(
        db, SYSTEM, invoice_id=bill.id, kwh={"total": Decimal(120)}, note="misread index"
    )
    # the credit note mirrors the bill; 120 kWh: (500 + 5000 + 20*80) = 7100, TVA 1278
    assert credit_note.total == -11210 and credit_note.kind == "credit_note"
    assert credit_note.credits_invoice_id == bill.id and credit_note.number.startswith("AV-")
    assert rebill.total == 8378 == month_total(120)
    assert rebill.replaces_invoice_id == bill.id
    db.refresh(bill)
    assert bill.status == "credited"
    original = [ln.amount for ln in repository.lines_of(db, bill.id)]
    assert [ln.amount for ln in repository.lines_of(db, credit_note.id)] == [-a for a in original]
    assert receivable(db, bill.account_id) == 8378  # 11210 - 11210 + 8378
    with pytest.raises(InvoiceAlreadyCreditedError):
        service.credit(db, SYSTEM, invoice_id=bill.id, note="twice")
    ledger_is_clean(db)


def test_an_estimated_bill_is_trued_up_when_the_actual_read_arrives(db: Session) -> None:
    who = customer(db)
    estimated_kwh = estimate(db, who, date(2026, 1, 31))
    run = bill_january(db, [who.usage_point_id])
    [bill] = repository.invoices_page(db, SYSTEM, run_id=run.id)[0]
    assert bill.estimated and bill.kwh == estimated_kwh
    assert bill.total == month_total(int(estimated_kwh))
    with pytest.raises(TrueUpNotReadyError):
        service.true_up(db, SYSTEM, invoice_id=bill.id)
    read(db, who, date(2026, 1, 30), 130)  # the actual read supersedes the estimate
    credit_note, trued = service.true_up(db, SYSTEM, invoice_id=bill.id)
    # 130 kWh: (500 + 5000 + 30*80) = 7900, TVA 1422 -> 9322
    assert trued.total == 9322 == month_total(130)
    assert trued.reason == "true_up" and not trued.estimated
    assert credit_note.total == -bill.total
    assert receivable(db, who.account_id) == 9322
    ledger_is_clean(db)


def test_a_move_out_gets_its_final_bill(db: Session) -> None:
    who = customer(db)
    read(db, who, date(2026, 1, 31), 150)
    bill_january(db, [who.usage_point_id])
    contract_service.move_out(
        db,
        actor=SYSTEM,
        contract_id=who.contract_id,
        data=MoveOutRequest(end_date=date(2026, 2, 20), reason="leaves town"),
    )
    read(db, who, date(2026, 2, 20), 40)  # the final reading, on the move-out day
    final = service.final_bill(db, SYSTEM, contract_id=who.contract_id)
    assert (final.period_start, final.period_end) == (date(2026, 2, 1), date(2026, 2, 20))
    assert final.reason == "final" and final.kwh == 40
    # 19 of February's 28 days: fixed 500 * 19/28 = 339.29 -> 339; the first block holds
    # 100 * 19/28 = 67.9 kWh, so 40 kWh * 50 = 2000; net 2339, TVA 2339 * 0.18 = 421.02
    # -> 421; total 2760
    assert final.total == 2760
    assert receivable(db, who.account_id) == 11210 + 2760
    assert service.pending_final_bills(db).count(who.contract_id) == 0
    ledger_is_clean(db)


def test_the_contract_end_event_issues_the_final_bill_once_the_reading_is_in(
    db: Session,
) -> None:
    import uuid

    from customers.events import FinalReadingRequested
    from kilowatch.handlers import final_bill_after_contract_end

    who = customer(db)
    contract_service.move_out(
        db,
        actor=SYSTEM,
        contract_id=who.contract_id,
        data=MoveOutRequest(end_date=date(2026, 1, 20), reason="leaves"),
    )
    event = FinalReadingRequested(
        contract_id=who.contract_id,
        contract_number="CT",
        usage_point_id=who.usage_point_id,
        usage_point_code=None,
        reading_date=date(2026, 1, 20),
        process="move_out",
    )
    final_bill_after_contract_end(db, event, uuid.uuid4())  # no final reading yet: waits
    assert who.contract_id in service.pending_final_bills(db)
    read(db, who, date(2026, 1, 20), 60)
    final_bill_after_contract_end(db, event, uuid.uuid4())
    final_bill_after_contract_end(db, event, uuid.uuid4())  # redelivered: nothing more
    [final] = repository.invoices_page(db, SYSTEM, usage_point_id=who.usage_point_id)[0]
    # [2025-12-31, 2026-01-20) is one segment (no price change) of 1/31 + 19/31 = 20/31
    # month: fixed 500 * 20/31 = 322.58 -> 323; block 1 holds 100 * 20/31 = 64.5 kWh, so
    # energy 60 * 50 = 3000; TVA (323 + 3000) * 0.18 = 598.14 -> 598; total 3921.
    assert final.total == 3921
    assert final.reason == "final" and final.kwh == 60
    assert (final.period_start, final.period_end) == (date(2025, 12, 31), date(2026, 1, 20))
    assert who.contract_id not in service.pending_final_bills(db)
    ledger_is_clean(db)
