"""The NTL case routes: scopes, problem+json errors, and a case worked by hand over HTTP
(tip -> findings -> assessment -> back-bill -> closed)."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.billing.world import ledger_is_clean
from tests.conftest import TEST_PASSWORD, bearer
from tests.revenue_protection.world import bypassed_customer, rules

URL = "/api/v1/revenue-protection"


def test_a_case_worked_over_http(client: TestClient, db: Session, make_user) -> None:
    rules(db)
    who = bypassed_customer(db)
    analyst = bearer(make_user("fraud_analyst"))
    technician = bearer(make_user("technician"))
    assert client.get(f"{URL}/cases").status_code == 401
    assert client.get(f"{URL}/cases", headers=technician).status_code == 403

    made = client.post(
        f"{URL}/cases",
        headers=analyst,
        json={"usage_point_id": who.usage_point_id, "source": "field_tip", "note": "neighbour"},
    )
    assert made.status_code == 201, made.text
    case = made.json()
    assert (case["status"], case["source"]) == ("inspecting", "field_tip")
    again = client.post(
        f"{URL}/cases", headers=analyst, json={"usage_point_id": who.usage_point_id}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "ntl_case_open_exists"
    assert client.get(f"{URL}/cases/999999999", headers=analyst).status_code == 404

    base = f"{URL}/cases/{case['id']}"
    # Too early: nothing inspected yet.
    early = client.post(f"{base}/back-bill", headers=analyst)
    assert (early.status_code, early.json()["code"]) == (409, "ntl_case_transition_invalid")
    found = client.post(
        f"{base}/findings",
        headers=analyst,
        json={
            "irregularity": "bypass",
            "irregularity_since": "2025-07-01",
            "inspected_on": "2026-01-15",
            "load_kw": "2",
        },
    )
    assert found.json()["status"] == "inspected", found.text
    missing = client.post(
        f"{base}/assessment", headers=analyst, json={"method": "corrected_measurement"}
    )
    assert (missing.status_code, missing.json()["code"]) == (422, "ntl_assessment_not_possible")
    assessed = client.post(
        f"{base}/assessment", headers=analyst, json={"method": "connected_load"}
    ).json()
    # 2 kW * 0.1 * 24 * 30 = 144 kWh a month, 6 months, 240 billed: 624 kWh unbilled;
    # penalty 25000 + 10 * 624 = 31240 (tests/revenue_protection/test_cases.py)
    assert (assessed["unbilled_kwh"], assessed["penalty"]) == ("624", 31240)
    billed = client.post(f"{base}/back-bill", headers=analyst).json()
    assert billed["assessment"]["invoice_total"] == 39120 + 31240
    closed = client.post(f"{base}/close", headers=analyst, json={}).json()
    assert (closed["status"], closed["recovered_amount"]) == ("closed", 70360)
    history = client.get(f"{base}/history", headers=analyst).json()
    assert [h["event"] for h in history][-3:] == ["assess", "bill", "close"]
    ledger_is_clean(db)
    # The loss dashboard for January 2026 (the inspection's month): the recovered figures,
    # one inspection confirmed; billed: December's bill issued on 1 January, 40 kWh:
    # (500 + 40 * 50) * 1.18 = 2950; nothing collected.
    manager = bearer(make_user("manager"))
    params = {"from_month": "2026-01", "to_month": "2026-01"}
    board = client.get(f"{URL}/dashboard", headers=manager, params=params).json()
    assert (board["recovered_kwh"], board["recovered_amount"]) == (624.0, 70360)
    assert (board["inspections_done"], board["hit_rate"]) == (1, 1.0)
    assert (board["billed"], board["collected"], board["collection_rate"]) == (2950, 0, 0.0)
    csv_text = client.get(f"{URL}/dashboard.csv", headers=manager, params=params).text
    assert "recovered_amount,70360" in csv_text
    xlsx = client.get(f"{URL}/dashboard.xlsx", headers=manager, params=params)
    book = load_workbook(io.BytesIO(xlsx.content))
    figures = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert figures["recovered_amount"] == 70360
    # Pages (cookie sign-in): the list, the case's file, the restoration supervision.
    make_user("fraud_analyst", username="page-rp-analyst")
    client.post("/login", data={"username": "page-rp-analyst", "password": TEST_PASSWORD})
    listed = client.get("/revenue-protection/cases")
    assert (
        listed.status_code == 200
        and f'href="/revenue-protection/cases/{case["id"]}"' in listed.text
    )
    page = client.get(f"/revenue-protection/cases/{case['id']}")
    assert page.status_code == 200 and "connected load" in page.text and "624" in page.text
    assert client.get("/revenue-protection/cases/999999999").status_code == 404
    assert client.get("/revenue-protection/restorations").status_code == 200
    losses = client.get("/revenue-protection/dashboard")
    assert losses.status_code == 200 and "dashboard.xlsx" in losses.text
