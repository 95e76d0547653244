"""The billing-run screen and the invoice page: prepare, simulate, control report with
drill-down to the customer, approve by a second person, issue, print; the invoice page
shows the issued lines and totals."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.money import format_money
from tests.api.test_pages import _sign_in
from tests.billing.world import customer, month_total, read


def _run_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(re.search(r"/billing/runs/(\d+)$", response.headers["location"]).group(1))


def test_a_run_from_the_screen_to_the_invoice(client: TestClient, db: Session) -> None:
    billed, unread = customer(db), customer(db)
    read(db, billed, date(2026, 1, 31), 150)
    db.commit()
    _sign_in(client, db, "ada.officer", "billing_officer")
    assert "Billing runs" in client.get("/billing/runs").text
    run_id = _run_id(
        client.post(
            "/billing/runs",
            data={"period_start": "2026-01-01", "period_end": "2026-02-01", "label": "January"},
            follow_redirects=False,
        )
    )
    assert (
        client.post(f"/billing/runs/{run_id}/simulate", follow_redirects=False).status_code == 303
    )
    page = client.get(f"/billing/runs/{run_id}").text
    assert 'data-testid="run-status">simulated<' in page
    # The control report: the unread customer is parked, with a link to their file.
    parked = client.get(f"/billing/runs/{run_id}?status=parked").text
    assert "missing read" in parked
    assert re.search(r'href="/customers/\d+" data-testid="drill-down"', parked)
    ready = client.get(f"/billing/runs/{run_id}?status=ready").text
    assert format_money(month_total(150), "XOF", "en") in ready  # 11 210: simulated amount

    # Four eyes: the preparer cannot approve.
    refused = client.post(f"/billing/runs/{run_id}/approve", follow_redirects=False)
    assert refused.status_code == 403
    assert "another person must approve" in refused.text
    _sign_in(client, db, "bea.approver", "billing_officer")
    assert client.post(f"/billing/runs/{run_id}/approve", follow_redirects=False).status_code == 303
    assert client.post(f"/billing/runs/{run_id}/issue", follow_redirects=False).status_code == 303
    page = client.get(f"/billing/runs/{run_id}").text
    assert 'data-testid="run-status">issued<' in page
    assert 'data-testid="invoices-count">1<' in page
    invoice_id = int(re.search(r'href="/invoices/(\d+)"', page).group(1))

    # The customer's file lists the invoice with a link to its page.
    billed_rows = client.get(f"/billing/runs/{run_id}?status=issued").text
    party_id = re.search(r'href="/customers/(\d+)" data-testid="drill-down"', billed_rows).group(1)
    assert f'href="/invoices/{invoice_id}"' in client.get(f"/customers/{party_id}").text

    invoice = client.get(f"/invoices/{invoice_id}").text
    assert format_money(11210, "XOF", "en") in invoice
    assert f'href="/api/v1/invoices/{invoice_id}/pdf"' in invoice
    # The PDF link works with the page's sign-in cookie.
    pdf = client.get(f"/api/v1/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # A print batch is queued (its task leaves after a real commit).
    assert client.post(f"/billing/runs/{run_id}/print", follow_redirects=False).status_code == 303
    assert 'data-testid="print-batches"' in client.get(f"/billing/runs/{run_id}").text
    assert unread  # parked, never billed


def test_billing_pages_need_their_scopes(client: TestClient, db: Session) -> None:
    assert client.get("/billing/runs", follow_redirects=False).status_code == 303
    _sign_in(client, db, "tech.billing", "technician")
    assert client.get("/billing/runs").status_code == 403
    assert client.get("/invoices/1").status_code == 403
    _sign_in(client, db, "cashier.billing", "cashier")  # reads billing, never runs it
    assert client.get("/billing/runs").status_code == 200
    assert (
        client.post(
            "/billing/runs", data={"period_start": "2026-01-01", "period_end": "2026-02-01"}
        ).status_code
        == 403
    )
    assert client.get("/billing/runs/987654").status_code == 404
    assert client.get("/invoices/987654").status_code == 404
