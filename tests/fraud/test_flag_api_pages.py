"""The flag API and pages: an analyst raises a flag, reads its evidence, moves it through
review to inspection over HTTP; the queue and the flag page render with chart and map."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import TEST_PASSWORD, bearer
from tests.fraud.conftest import Net, local


def test_flag_over_the_api_and_its_pages(
    client: TestClient, db: Session, net: Net, make_user
) -> None:
    b1 = net.customer("B1", local(date(2025, 1, 1)))
    b1.reads(*((local(date(2025, m, 1)), 100 * m) for m in range(2, 8)))
    analyst = bearer(make_user("fraud_analyst"))
    manager = bearer(make_user("manager"))
    body = {"usage_point_id": b1.usage_point_id, "note": "neighbour's tip"}
    assert client.post("/api/v1/fraud/flags", json=body, headers=manager).status_code == 403
    created = client.post("/api/v1/fraud/flags", json=body, headers=analyst)
    assert created.status_code == 201, created.text
    flag = created.json()
    assert (flag["status"], flag["source"]) == ("new", "tip")
    again = client.post("/api/v1/fraud/flags", json=body, headers=analyst)
    assert (again.status_code, again.json()["code"]) == (409, "flag_open_exists")
    url = f"/api/v1/fraud/flags/{flag['id']}"
    refused = client.post(f"{url}/transitions", json={"event": "confirm"}, headers=analyst)
    assert (refused.status_code, refused.json()["code"]) == (409, "flag_transition_invalid")
    for event in ("review", "send_to_inspection"):
        step = client.post(f"{url}/transitions", json={"event": event}, headers=analyst)
        assert step.status_code == 200, step.text
    assert client.get(url, headers=manager).json()["status"] == "sent_to_inspection"
    evidence = client.get(f"{url}/evidence", headers=manager).json()
    assert len(evidence["months"]) == 24 and evidence["months"][-1] == "2025-07-01"
    # A tip has no scored month: the window ends with the month of the newest read (July
    # 2025). Fitted 1 January at 0, index 100 x month on the 1st: January 0 -> 200, then
    # +100 a month; July has no read after the 1st: unknown, not zero.
    assert evidence["consumption_kwh"][-7:] == [200.0, 100.0, 100.0, 100.0, 100.0, 100.0, None]
    assert [h["event"] for h in evidence["history"]] == ["open", "review", "send_to_inspection"]
    queue = client.get("/api/v1/fraud/flags", headers=manager).json()
    assert [f["id"] for f in queue["items"]] == [flag["id"]]
    # Pages (cookie sign-in): the queue and the flag page with its chart and map.
    make_user("fraud_analyst", username="page-analyst")
    client.post("/login", data={"username": "page-analyst", "password": TEST_PASSWORD})
    page = client.get("/fraud/flags")
    assert page.status_code == 200 and f'href="/fraud/flags/{flag["id"]}"' in page.text
    page = client.get(f"/fraud/flags/{flag['id']}")
    assert page.status_code == 200
    for marker in ('data-testid="flag-chart"', 'data-testid="flag-map"', "step-confirm"):
        assert marker in page.text
    assert client.get("/fraud/flags/999999999").status_code == 404
