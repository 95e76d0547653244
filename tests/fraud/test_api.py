"""GET zone balances: authentication, scope, 404s and the territory rule."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.context import SYSTEM
from fraud.service import compute_balances
from tests.conftest import bearer
from tests.fraud.conftest import Net, local

URL = "/api/v1/fraud/balances"
# Around transformers T1 (2.42, 6.40) and T2 (2.44, 6.40) and feeder F1's line m2, leaving
# out T3 (2.41, 6.39) and feeder F2 (2.44-2.45, 6.41-6.42).
MIDDLE = "MULTIPOLYGON(((2.415 6.395, 2.445 6.395, 2.445 6.405, 2.415 6.405, 2.415 6.395)))"


def _computed(db: Session, net: Net) -> None:
    compute_balances(db, actor=SYSTEM, first=date(2025, 1, 1), last=date(2025, 2, 1))


def _codes(answer) -> set[str]:
    return {item["zone_code"] for item in answer.json()["items"]}


def test_balances_need_a_token_and_the_fraud_read_scope(
    client: TestClient, db: Session, net: Net, make_user
) -> None:
    _computed(db, net)
    assert client.get(URL).status_code == 401
    technician = make_user("technician")
    answer = client.get(URL, headers=bearer(technician))
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    for role in ("fraud_analyst", "manager", "admin"):
        assert client.get(URL, headers=bearer(make_user(role))).status_code == 200


def test_an_unrestricted_manager_sees_every_zone_month(
    client: TestClient, db: Session, net: Net, make_user
) -> None:
    _computed(db, net)
    p = net.prefix
    answer = client.get(URL, headers=bearer(make_user("manager")), params={"limit": 200})
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 10  # 3 transformers + 2 feeders, x 2 months
    assert _codes(answer) == {f"{p}T1", f"{p}T2", f"{p}T3", f"{p}F1", f"{p}F2"}
    first = body["items"][0]
    assert first["period_start"] == "2025-02-01"  # newest month first
    assert (first["analysable"], first["reason"], first["ntl_kwh"]) == (
        False,
        "no_zone_meter",
        None,
    )
    feeders = client.get(
        URL,
        headers=bearer(make_user("manager")),
        params={"zone_kind": "feeder", "from_month": "2025-02", "to_month": "2025-02"},
    )
    assert _codes(feeders) == {f"{p}F1", f"{p}F2"} and feeders.json()["total"] == 2


def test_staff_bound_to_an_agency_see_only_its_zones(
    client: TestClient, db: Session, net: Net, make_user
) -> None:
    _computed(db, net)
    db.add(Agency(code="MID", name="Middle", territory=WKTElement(MIDDLE, srid=4326)))
    db.commit()
    analyst = bearer(make_user("fraud_analyst", agency="MID"))
    p = net.prefix
    answer = client.get(URL, headers=analyst, params={"limit": 200})
    assert _codes(answer) == {f"{p}T1", f"{p}T2", f"{p}F1"}
    assert answer.json()["total"] == 6

    own = client.get(f"/api/v1/fraud/transformers/{p}T1/balances", headers=analyst)
    assert own.status_code == 200 and own.json()["total"] == 2
    assert {i["zone_code"] for i in own.json()["items"]} == {f"{p}T1"}
    for path in (f"transformers/{p}T3", f"feeders/{p}F2", "transformers/NO-SUCH"):
        outside = client.get(f"/api/v1/fraud/{path}/balances", headers=analyst)
        assert outside.status_code == 404, path
        assert outside.json()["code"] == "zone_not_found"
    # The same zone for head office: found.
    manager = bearer(make_user("manager"))
    assert client.get(f"/api/v1/fraud/feeders/{p}F2/balances", headers=manager).status_code == 200


def test_a_month_that_is_not_one_is_a_422(client: TestClient, make_user) -> None:
    manager = bearer(make_user("manager"))
    for bad in ("2025-13", "2025-1", "0000-01", "march"):
        answer = client.get(URL, headers=manager, params={"from_month": bad})
        assert answer.status_code == 422, bad


def test_the_loss_map_shows_the_zones_of_the_users_territory(
    client: TestClient, db: Session, net: Net, make_user
) -> None:
    # T1 metered with 20 % NTL-ish: 1000 in, its customer 700, losses ~153 kWh.
    net.zone_meter(local(date(2025, 1, 1)), transformer="T1").reads(
        (local(date(2025, 2, 1)), 0), (local(date(2025, 3, 1)), 1000)
    )
    net.customer("B1", local(date(2025, 1, 1))).reads(
        (local(date(2025, 2, 1)), 0), (local(date(2025, 3, 1)), 700)
    )
    net.customer("B2", local(date(2025, 1, 1))).reads(
        (local(date(2025, 2, 1)), 0), (local(date(2025, 3, 1)), 0)
    )
    _computed(db, net)
    p = net.prefix
    client.cookies.set("kw_token", make_user("manager"))
    page = client.get("/map/losses")
    assert page.status_code == 200
    assert 'href="/map/losses"' in page.text and "2025-02" in page.text
    zones = client.get("/map/losses/zones.geojson", params={"month": "2025-02"}).json()
    by_code = {f["properties"]["code"]: f for f in zones["features"]}
    assert set(by_code) == {f"{p}T1", f"{p}T2", f"{p}T3"}
    t1 = by_code[f"{p}T1"]
    assert t1["geometry"]["type"] == "Polygon"
    assert t1["properties"]["analysable"] is True and t1["properties"]["ntl_share"] > 0.1
    assert by_code[f"{p}T3"]["properties"]["reason"] == "no_zone_meter"
    # The feeders' trend (12 months ending with the month; only January and February were
    # computed), for the drill-down: no feeder has a head meter, so no share is known.
    trends = client.get("/map/losses/feeders.json", params={"month": "2025-02"}).json()
    assert [(f["feeder"], f["months"], f["shares"]) for f in trends["feeders"]] == [
        (f"{p}F1", ["2025-01", "2025-02"], [None, None]),
        (f"{p}F2", ["2025-01", "2025-02"], [None, None]),
    ]

    db.add(Agency(code="MID2", name="Middle", territory=WKTElement(MIDDLE, srid=4326)))
    db.commit()
    client.cookies.set("kw_token", make_user("fraud_analyst", agency="MID2"))
    bound = client.get("/map/losses/zones.geojson", params={"month": "2025-02"}).json()
    assert {f["properties"]["code"] for f in bound["features"]} == {f"{p}T1", f"{p}T2"}
    bound = client.get("/map/losses/feeders.json", params={"month": "2025-02"}).json()
    assert [f["feeder"] for f in bound["feeders"]] == [f"{p}F1"]
    client.cookies.set("kw_token", make_user("technician"))
    assert client.get("/map/losses").status_code == 403
