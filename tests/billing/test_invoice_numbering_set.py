"""The numbering check per statement (migration 0019): a multi-row insert is refused when
its numbers skip one, or when the number before its first was never issued; consecutive
numbers following the last issued one pass."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billing.invoices.models import Invoice
from tests.billing.test_invoices import january_bill

# Twins of an invoice numbered last + each offset (one month apart, so no period overlaps),
# the counter moved by the largest offset first.
TWINS = """
INSERT INTO billing_invoice (series, seq, number, kind, status, reason, account_id,
  usage_point_id, contract_id, period_start, period_end, issue_date, due_date, currency,
  tariff_code, category, connection_type, subscribed_kva, consumption, kwh, estimated, net,
  taxes, rounding, total, payment_reference, issued_by)
SELECT series, :last + o, 'SET-' || o, kind, status, reason, account_id, usage_point_id,
  contract_id, period_start + make_interval(months => o), period_end + make_interval(months => o),
  issue_date, due_date, currency, tariff_code, category, connection_type, subscribed_kva,
  consumption, kwh, estimated, net, taxes, rounding, total, payment_reference, issued_by
FROM billing_invoice, unnest(CAST(:offsets AS int[])) AS o WHERE id = :id
"""


def _twins(db: Session, bill: Invoice, offsets: list[int]) -> None:
    last = db.scalar(
        text(
            "UPDATE billing_invoice_series SET last_number = last_number + :n "
            "WHERE series = 'F' RETURNING last_number - :n"
        ),
        {"n": max(offsets)},
    )
    db.execute(text(TWINS), {"last": last, "offsets": offsets, "id": bill.id})


def test_consecutive_numbers_in_one_statement_pass(db: Session) -> None:
    bill = january_bill(db)
    _twins(db, bill, [1, 2, 3])
    assert db.scalar(text("SELECT count(*) FROM billing_invoice WHERE number LIKE 'SET-%'")) == 3


def test_a_number_skipped_inside_one_statement_is_refused(db: Session) -> None:
    bill = january_bill(db)
    with pytest.raises(DBAPIError, match="leaves a gap") as refused, db.begin_nested():
        _twins(db, bill, [1, 3])  # last + 2 is missing
    assert refused.value.orig.diag.constraint_name == "billing_invoice_numbering_gap"


def test_a_statement_starting_after_a_missing_number_is_refused(db: Session) -> None:
    bill = january_bill(db)
    with pytest.raises(DBAPIError, match="leaves a gap") as refused, db.begin_nested():
        _twins(db, bill, [2, 3])  # last + 1 is missing
    assert refused.value.orig.diag.constraint_name == "billing_invoice_numbering_gap"
