"""Report catalogue: each report's totals against the ledger or its source tables, the
agency filter and territory, CSV / XLSX exports, the background export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from billing.invoices.models import Invoice
from billing.payments import open_items
from core.context import SYSTEM, Actor
from core.periods import Period
from core.reports import background, catalogue
from core.reports.background import ReportExportNotFoundError
from core.reports.catalogue import ReportFilters
from core.reports.models import ReportExport
from customers.models import Account
from tests.billing.payments.helpers import pay
from tests.billing.world import customer, month_total
from tests.conftest import bearer

JANUARY = Period(date(2026, 1, 1), date(2026, 2, 1))
FEBRUARY = Period(date(2026, 2, 1), date(2026, 3, 1))


def _bills(db: Session) -> list[Invoice]:
    """Three January bills issued on 3 February: 150 and 250 kWh residential, 120 kWh
    commercial."""
    bills = []
    for kwh, category in ((150, "residential"), (250, "residential"), (120, "commercial")):
        who = customer(db, category=category)
        bills.append(
            invoices.issue_bill(
                db,
                SYSTEM,
                contract_id=who.contract_id,
                period=JANUARY,
                kwh={"total": Decimal(kwh)},
                reason=InvoiceReason.CYCLE,
                issue_date=date(2026, 2, 3),
            )
        )
    return bills


def test_billing_summary_matches_the_invoices_and_the_ledger(db: Session) -> None:
    bills = _bills(db)
    table = catalogue.run(db, SYSTEM, "billing_summary", ReportFilters(FEBRUARY))
    rows = {(r["tariff"], r["category"]): r for r in table.rows}
    residential = rows[("KW-TEST", "residential")]
    # month_total(k) = (500 + 5000 + 80 (k - 100)) * 1.18: 150 kWh -> 11 210, 250 -> 20 650
    assert (month_total(150), month_total(250), month_total(120)) == (11210, 20650, 8378)
    assert (residential["bills"], residential["kwh"], residential["total"]) == (
        2,
        Decimal(400),
        11210 + 20650,
    )
    assert rows[("KW-TEST", "commercial")]["total"] == 8378
    # Totals = the source table over the same filter ...
    source = db.execute(
        text(
            "SELECT count(*), sum(total) FROM billing_invoice"
            " WHERE issue_date >= '2026-02-01' AND issue_date < '2026-03-01'"
        )
    ).one()
    assert (table.totals["bills"] + table.totals["credit_notes"], table.totals["total"]) == tuple(
        source
    )
    # ... and = what the ledger's receivables got from those documents.
    ledger = db.execute(
        text(
            "SELECT sum(p.amount) FROM billing_ledger_posting p"
            " JOIN billing_ledger_account a ON a.id = p.account_id"
            " JOIN billing_invoice i ON i.ledger_transaction_id = p.transaction_id"
            " WHERE a.code = 'receivable' AND i.issue_date >= '2026-02-01' AND i.issue_date < '2026-03-01'"
        )
    ).scalar_one()
    assert table.totals["total"] == ledger
    # Category filter; a period with nothing.
    only = catalogue.run(
        db, SYSTEM, "billing_summary", ReportFilters(FEBRUARY, category="commercial")
    )
    assert [r["total"] for r in only.rows] == [8378]
    assert catalogue.run(db, SYSTEM, "billing_summary", ReportFilters(JANUARY)).rows == []
    assert len(bills) == 3


def test_collection_rate_and_aged_debt_from_the_ledger(db: Session) -> None:
    bills = _bills(db)
    accounts = [db.get(Account, b.account_id) for b in bills]
    # Payments in February: 11 210 (the first bill in full) and 5 000 on the second.
    pay(db, accounts[0], 11210, date(2026, 2, 10))
    pay(db, accounts[1], 5000, date(2026, 2, 12))
    table = catalogue.run(db, SYSTEM, "collection_rate", ReportFilters(FEBRUARY))
    (row,) = table.rows
    billed = 11210 + 20650 + 8378  # 40 238
    assert (row["currency"], row["billed"], row["collected"]) == ("XOF", billed, 16210)
    assert row["rate"] == round(100 * 16210 / billed, 2)  # 40.29
    ledger = db.execute(
        text(
            "SELECT t.kind, sum(p.amount) FROM billing_ledger_posting p"
            " JOIN billing_ledger_account a ON a.id = p.account_id"
            " JOIN billing_ledger_transaction t ON t.id = p.transaction_id"
            " WHERE a.code = 'receivable' AND t.entry_date >= '2026-02-01'"
            " AND t.entry_date < '2026-03-01' GROUP BY t.kind"
        )
    ).all()
    by_kind = dict(ledger)
    assert row["billed"] == by_kind["invoice"] + by_kind.get("credit_note", 0)
    assert row["collected"] == -by_kind["payment"]

    # Aged debt at the end of this month (the items exist from today on): what is open
    # is the total less the allocations: 0 + (20 650 - 5 000) + 8 378 = 24 028.
    this_month = Period.month_of(datetime.now(UTC))
    open_items.sync_invoices(db, SYSTEM)  # what a billing run's settlement does for its bills
    aged = catalogue.run(db, SYSTEM, "aged_debt", ReportFilters(this_month))
    open_now = db.execute(
        text(
            "SELECT sum(i.amount - coalesce((SELECT sum(a.amount) FROM billing_payment_allocation a"
            " WHERE a.item_id = i.id AND a.released_at IS NULL), 0))"
            " FROM billing_receivable_item i WHERE i.closed_at IS NULL"
        )
    ).scalar_one()
    (debt,) = aged.rows
    assert debt["total"] == open_now == 20650 - 5000 + 8378
    due = db.execute(text("SELECT min(due_date) FROM billing_receivable_item")).scalar_one()
    late = (this_month.last_day - due).days
    bucket = "d31_60" if late <= 60 else "d61_90" if late <= 90 else "d90_plus"
    assert debt[bucket] == 24028 and debt["not_due"] == 0


def test_territory_and_agency_filter(db: Session) -> None:
    _bills(db)
    # An agency-bound user (an agency no customer lies in) sees nothing; so does the
    # agency filter set to that agency for head office.
    bound = Actor(user_id=None, username="bound", territory_agency_id=10**9)
    assert catalogue.run(db, bound, "billing_summary", ReportFilters(FEBRUARY)).rows == []
    assert (
        catalogue.run(db, SYSTEM, "billing_summary", ReportFilters(FEBRUARY, agency_id=10**9)).rows
        == []
    )


def test_regulator_indicators_agree_with_the_reports(db: Session) -> None:
    _bills(db)
    table = catalogue.run(db, SYSTEM, "regulator_monthly", ReportFilters(FEBRUARY))
    values = {r["indicator"]: r["value"] for r in table.rows}
    assert values["bills"] == 3 and values["amount_billed"] == 11210 + 20650 + 8378
    assert values["kwh_billed"] == Decimal(520)


def test_field_productivity_and_energy_balance_run(db: Session) -> None:
    for name in ("field_productivity", "energy_balance"):
        assert catalogue.run(db, SYSTEM, name, ReportFilters(FEBRUARY)).rows == []


def test_exports(client: TestClient, db: Session, make_user: Callable[..., str]) -> None:
    _bills(db)
    manager = bearer(make_user("manager"))
    period = {"period_start": "2026-02-01", "period_end": "2026-03-01"}
    listed = client.get("/api/v1/reports", headers=manager).json()
    assert {r["name"] for r in listed} >= {
        "billing_summary",
        "collection_rate",
        "aged_debt",
        "energy_balance",
        "field_productivity",
        "regulator_monthly",
    }
    as_json = client.get("/api/v1/reports/billing_summary", headers=manager, params=period).json()
    assert as_json["totals"]["total"] == 40238
    as_csv = client.get(
        "/api/v1/reports/billing_summary", headers=manager, params={**period, "format": "csv"}
    )
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[0][:3] == ["Tariff", "Category", "Currency"]
    assert lines[-1][0] == "Total" and lines[-1][-1] == "40238"
    as_xlsx = client.get(
        "/api/v1/reports/billing_summary", headers=manager, params={**period, "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet.cell(row=sheet.max_row, column=9).value == 40238
    bad = client.get(
        "/api/v1/reports/billing_summary",
        headers=manager,
        params={"period_start": "2026-03-01", "period_end": "2026-02-01"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "report_period_invalid"
    assert client.get("/api/v1/reports/nothing", headers=manager).status_code == 404
    assert client.get("/api/v1/reports", headers=bearer(make_user("technician"))).status_code == 403

    # Background: requested, built by the worker's function as the requester, downloaded.
    queued = client.post(
        "/api/v1/reports/billing_summary/exports", headers=manager, json={**period, "format": "csv"}
    )
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    export_id = queued.json()["id"]
    job = db.get(ReportExport, export_id)
    assert job is not None
    background.execute(db, export_id, background.requester(db, job))
    db.commit()
    status = client.get(f"/api/v1/report-exports/{export_id}", headers=manager).json()
    assert (status["status"], status["progress"], status["rows"]) == ("done", 100, 2)
    file = client.get(f"/api/v1/report-exports/{export_id}/file", headers=manager)
    assert file.status_code == 200 and file.text == as_csv.text
    # Made by head office: an agency-bound user does not see it.
    bound = Actor(user_id=None, username="bound", territory_agency_id=10**9)
    with pytest.raises(ReportExportNotFoundError):
        background.get(db, bound, export_id)
