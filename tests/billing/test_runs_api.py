"""The billing-run and invoice API: scopes, four eyes (problem+json code), the status
endpoint, invoices with their lines, corrections, and territory (404 elsewhere)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tests.billing.world import customer, month_total, read
from tests.conftest import bearer


def test_a_run_through_the_api(client, db: Session, make_user) -> None:
    who = customer(db)
    read(db, who, date(2026, 1, 31), 150)
    officer = bearer(make_user("billing_officer"))
    second = bearer(make_user("billing_officer"))
    cashier = bearer(make_user("cashier"))
    body = {
        "period_start": "2026-01-01",
        "period_end": "2026-02-01",
        "issue_date": "2026-02-03",
        "selection": {"usage_point_ids": [who.usage_point_id]},
    }
    assert client.post("/api/v1/billing-runs", json=body, headers=cashier).status_code == 403
    created = client.post("/api/v1/billing-runs", json=body, headers=officer)
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    simulated = client.post(f"/api/v1/billing-runs/{run_id}/simulate", headers=officer)
    assert simulated.status_code == 200, simulated.text
    assert simulated.json()["simulated_total"] == {"XOF": month_total(150)}
    refused = client.post(f"/api/v1/billing-runs/{run_id}/approve", json={}, headers=officer)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "billing_run_approver_is_preparer"
    approved = client.post(f"/api/v1/billing-runs/{run_id}/approve", json={}, headers=second)
    assert approved.status_code == 200 and approved.json()["approved_by"]
    issued = client.post(f"/api/v1/billing-runs/{run_id}/issue", headers=second)
    assert issued.status_code == 200, issued.text
    status = client.get(f"/api/v1/billing-runs/{run_id}/status", headers=cashier).json()
    assert status["status"] == "issued" and status["invoices"] == 1
    items = client.get(f"/api/v1/billing-runs/{run_id}/items", headers=cashier).json()
    assert items["total"] == 1 and items["items"][0]["status"] == "issued"
    page = client.get(f"/api/v1/invoices?billing_run_id={run_id}", headers=cashier).json()
    [invoice] = page["items"]
    # 150 kWh: (500 + 100*50 + 50*80) * 1.18 = 11210
    assert invoice["total"] == 11210 and invoice["payment_reference"].startswith("RF")
    full = client.get(f"/api/v1/invoices/{invoice['id']}", headers=cashier).json()
    assert [ln["amount"] for ln in full["lines"]] == [500, 5000, 4000, 1710]
    again = client.post(f"/api/v1/billing-runs/{run_id}/issue", headers=second)
    assert again.status_code == 200 and again.json()["invoices"] == 1
    corrected = client.post(
        f"/api/v1/invoices/{invoice['id']}/rebill",
        json={"kwh": {"total": "120"}, "note": "misread"},
        headers=second,
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["credit_note"]["total"] == -11210
    assert corrected.json()["invoice"]["total"] == month_total(120)
    twice = client.post(
        f"/api/v1/invoices/{invoice['id']}/credit", json={"note": "again"}, headers=second
    )
    assert twice.status_code == 409 and twice.json()["code"] == "invoice_already_credited"
    not_ready = client.post(f"/api/v1/contracts/{who.contract_id}/final-bill", headers=second)
    assert not_ready.status_code == 409 and not_ready.json()["code"] == "final_bill_not_ready"


def test_bad_input_is_a_clear_problem(client, make_user) -> None:
    officer = bearer(make_user("billing_officer"))
    bad = client.post(
        "/api/v1/billing-runs",
        json={"period_start": "2026-02-01", "period_end": "2026-01-01"},
        headers=officer,
    )
    assert bad.status_code == 422
    empty = client.post(
        "/api/v1/billing-runs",
        json={
            "period_start": "2026-01-01",
            "period_end": "2026-02-01",
            "selection": {"agency": "NO-SUCH-AGENCY"},
        },
        headers=officer,
    )
    assert empty.status_code == 422 and empty.json()["code"] == "billing_run_selection_invalid"
    assert client.get("/api/v1/billing-runs/999999", headers=officer).status_code == 404
    assert client.get("/api/v1/invoices/999999", headers=officer).status_code == 404
