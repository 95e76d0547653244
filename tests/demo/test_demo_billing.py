"""``make demo`` bills the demo utility: its contracts' tariffs exist, the recent months
are billed by runs (approved by a second person), older bills are mostly paid, the books
hold, and building again bills nothing twice."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.ledger import repository as ledger
from core.context import SYSTEM, acting_as
from kilowatch.demo_billing import BILLED_MONTHS, build_demo_billing
from kilowatch.demo_utility.builder import build_demo_utility


def _counts(db: Session) -> tuple[int, int, int]:
    return db.execute(
        text(
            "SELECT (SELECT count(*) FROM billing_run WHERE status = 'issued'), "
            "(SELECT count(*) FROM billing_invoice), "
            "(SELECT count(*) FROM billing_ledger_transaction WHERE kind = 'payment')"
        )
    ).one()


def test_the_demo_bills_its_recent_months_once(db: Session) -> None:
    with acting_as(SYSTEM, request_id="test-demo-billing"):
        build_demo_utility(db, customers=60, seed=77, service_points=80)
        outcome = build_demo_billing(db, None)
    runs, invoices, payments = _counts(db)
    assert runs == BILLED_MONTHS
    assert invoices > 0 and payments > 0, outcome
    # Every contract's tariff exists, so no item was parked for want of one.
    unrated = db.scalar(
        text("SELECT count(*) FROM billing_run_item WHERE 'rating_failed' = ANY(checks)")
    )
    assert unrated == 0
    issued_share = db.scalar(text("SELECT avg((status = 'issued')::int) FROM billing_run_item"))
    assert issued_share > 0.5  # most customers billed; the doubtful parked with a reason
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    assert ledger.check(db).ok
    with acting_as(SYSTEM, request_id="test-demo-billing"):
        build_demo_billing(db, None)
    assert _counts(db) == (runs, invoices, payments)
