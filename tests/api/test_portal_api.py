"""The portal API end to end in one process: sign-up, code, sign-in, own data only,
connection request with survey, quote, acceptance and online payment; tokens never cross
between staff and customers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from field.connections import service as connections
from field.models import WorkOrder
from tests.conftest import bearer
from tests.connections.conftest import _TO_LONLAT, DESK, POLE_XY, PREMISES_XY, PRICES
from tests.connections.test_works import _complete

PASSWORD = "a long portal password"


def _sign_up(client: TestClient, login: str, outbox: RecordingGateway) -> dict[str, str]:
    made = client.post(
        "/api/v1/portal/register",
        json={"first_name": "Koffi", "last_name": "Agbo", "login": login, "password": PASSWORD},
    )
    assert made.status_code == 201, made.text
    code = re.search(r"\b(\d{6})\b", outbox.sent[-1].body)
    assert code
    ok = client.post("/api/v1/portal/verify", json={"login": login, "code": code.group(1)})
    assert ok.status_code == 204, ok.text
    token = client.post("/api/v1/portal/token", data={"username": login, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_customer_requests_accepts_and_pays_a_connection(client: TestClient, db: Session) -> None:
    from datetime import date

    from sqlalchemy import text

    connections.define_price_list(
        db, actor=DESK, version=1, valid_from=date(2026, 1, 1), definition=PRICES
    )
    lon, lat = _TO_LONLAT.transform(*POLE_XY)
    db.execute(
        text(
            "INSERT INTO gis_network_node (code, geom, location_precision) VALUES "
            "('API-N1', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'surveyed')"
        ),
        {"lon": lon, "lat": lat},
    )
    db.execute(
        text(
            "INSERT INTO gis_service_point (code, kind, node_id, geom, location_precision) "
            "SELECT 'API-P1', 'pole', id, geom, 'surveyed' FROM gis_network_node WHERE code = 'API-N1'"
        )
    )
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        koffi = _sign_up(client, "koffi@example.org", outbox)
        other = _sign_up(client, "ama@example.org", outbox)
    plon, plat = _TO_LONLAT.transform(*PREMISES_XY)
    asked = client.post(
        "/api/v1/portal/connection-requests",
        headers=koffi,
        json={
            "site": {
                "address_line": "Lot 9, Cocotomey",
                "city": "Calavi",
                "lon": plon,
                "lat": plat,
            },
            "connection_type": "mono",
            "subscribed_kva": "6",
        },
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    assert asked.json()["status"] == "surveying"
    # The other customer cannot see it, by id or in a list.
    assert (
        client.get(f"/api/v1/portal/connection-requests/{request_id}", headers=other).status_code
        == 404
    )
    assert client.get("/api/v1/portal/connection-requests", headers=other).json() == []
    # The survey done in the field prices it: 150 m -> 945 000 XOF (tests/connections).
    request = connections.get_request(db, request_id)
    _complete(db, db.get(WorkOrder, request.survey_work_order_id))
    seen = client.get(f"/api/v1/portal/connection-requests/{request_id}", headers=koffi).json()
    assert (seen["status"], seen["quote"]["total"]) == ("quoted", 945000)
    assert (
        client.post(
            f"/api/v1/portal/connection-requests/{request_id}/accept", headers=other
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/portal/connection-requests/{request_id}/accept", headers=koffi
        ).status_code
        == 200
    )
    accounts = client.get("/api/v1/portal/accounts", headers=koffi).json()
    assert accounts[0]["balance"] == {"XOF": 945000}
    paid = client.post(
        f"/api/v1/portal/connection-requests/{request_id}/pay",
        headers={**koffi, "Idempotency-Key": "click-0001"},
    )
    assert paid.status_code == 200 and paid.json()["status"] == "works", paid.text
    again = client.post(
        f"/api/v1/portal/connection-requests/{request_id}/pay",
        headers={**koffi, "Idempotency-Key": "click-0001"},
    )
    assert again.status_code == 200  # the same key: the same payment, not a second one
    account_id = accounts[0]["id"]
    assert client.get(f"/api/v1/portal/accounts/{account_id}", headers=koffi).json()["balance"] == {
        "XOF": 0
    }
    assert client.get(f"/api/v1/portal/accounts/{account_id}", headers=other).status_code == 404
    assert (
        client.get(f"/api/v1/portal/accounts/{account_id}/payments", headers=other).status_code
        == 404
    )
    assert [
        p["amount"]
        for p in client.get(f"/api/v1/portal/accounts/{account_id}/payments", headers=koffi).json()
    ] == [945000]


def test_tokens_do_not_cross(client: TestClient, db: Session, make_user) -> None:
    admin_headers = bearer(make_user("admin"))
    with notify.use_gateway(Channel.SMS, RecordingGateway()) as outbox:
        customer = _sign_up(client, "+22997000001", outbox)
    assert client.get("/api/v1/portal/me", headers=admin_headers).status_code == 401
    assert client.get("/api/v1/customers/search?q=a", headers=customer).status_code == 401
    me = client.get("/api/v1/portal/me", headers=customer)
    assert me.status_code == 200 and me.json()["login"] == "+22997000001"


def test_pages_render(client: TestClient, db: Session, make_user) -> None:
    staff = bearer(make_user("admin"))
    assert client.get("/my").status_code == 200
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        _sign_up(client, "page@example.org", outbox)
    signed = client.post(
        "/my/session",
        data={"login": "page@example.org", "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and "kw_portal" in signed.headers["set-cookie"]
    page = client.get("/my", cookies={"kw_portal": signed.cookies["kw_portal"]})
    assert 'data-testid="accounts"' in page.text
    token = staff["Authorization"].split()[1]
    board = client.get("/connections", cookies={"kw_token": token})
    assert board.status_code == 200 and 'data-testid="pipeline"' in board.text


def test_complaints_are_the_customers_own(client: TestClient, db: Session) -> None:
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        first = _sign_up(client, "c1@example.org", outbox)
        second = _sign_up(client, "c2@example.org", outbox)
    filed = client.post(
        "/api/v1/portal/cases",
        headers=first,
        json={"case_type": "complaint", "subject": "No power since Monday"},
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "open" and filed.json()["due_date"]
    assert [c["subject"] for c in client.get("/api/v1/portal/cases", headers=first).json()] == [
        "No power since Monday"
    ]
    assert client.get("/api/v1/portal/cases", headers=second).json() == []
