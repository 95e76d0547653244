"""The field office pages: the round-progress map and its GeoJSON (per stop, per reader,
the caller's territory only), the work-order board and detail, the seal inventory."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.auth.models import Agency
from core.auth.service import create_user
from field import service
from field.schemas import (
    RoundBuild,
    RoundReadingRequest,
    SealAnomaly,
    SealBatchCreate,
    SkipRequest,
    TechnicianCreate,
    WorkOrderCreate,
)
from tests.conftest import TEST_PASSWORD
from tests.field.conftest import OFFICE, utc
from tests.support.territory import east_agency

EAST_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[2.44, 6.34], [2.47, 6.34], [2.47, 6.36], [2.44, 6.36], [2.44, 6.34]]],
}
WEST_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[2.09, 6.49], [2.12, 6.49], [2.12, 6.51], [2.09, 6.51], [2.09, 6.49]]],
}


def _sign_in(client, db, username: str, role: str, agency: str | None = None) -> None:
    create_user(db, username=username, password=TEST_PASSWORD, roles=[role], agency_code=agency)
    db.commit()
    answer = client.post(
        "/login", data={"username": username, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


def test_round_map_shows_progress_per_stop_and_reader(client, db, make_stop) -> None:
    code = east_agency(db, "FIELD-PAGES")
    east_stops = [make_stop(2.45 + k / 1000, 6.35) for k in range(3)]
    make_stop(2.10, 6.50)
    reader_user = create_user(
        db, username="pages-reader", password=TEST_PASSWORD, roles=["technician"], agency_code=code
    )
    east_id = db.scalar(select(Agency.id).where(Agency.code == code))
    reader = service.create_technician(
        db, actor=OFFICE, data=TechnicianCreate(user_id=reader_user.id, code="READER-1")
    )
    east_round = service.build_round(
        db,
        actor=OFFICE,
        data=RoundBuild(
            period_start=date(2025, 4, 1),
            by="polygon",
            polygon=EAST_POLYGON,
            technician_id=reader.id,
            agency_id=east_id,
        ),
    )
    service.build_round(
        db,
        actor=OFFICE,
        data=RoundBuild(period_start=date(2025, 4, 1), by="polygon", polygon=WEST_POLYGON),
    )
    items = service.assignments_since(db, technician_id=reader.id, since=0).round_items
    service.record_round_reading(
        db,
        actor=OFFICE,
        round_item_id=items[0]["id"],
        data=RoundReadingRequest(values={"total": Decimal(1050)}, read_at=utc(2025, 4, 1, 9)),
    )
    service.skip_round_item(
        db,
        actor=OFFICE,
        round_item_id=items[1]["id"],
        data=SkipRequest(code="no_access", at=utc(2025, 4, 1, 9)),
    )
    db.commit()
    _sign_in(client, db, "pages-east", "fraud_analyst", agency=code)
    page = client.get("/map/rounds")
    assert page.status_code == 200
    assert 'data-reader="READER-1"' in page.text and east_round.code in page.text
    assert "/static/js/round_map.js" in page.text
    stops = client.get("/map/rounds/stops.geojson", params={"period": "2025-04"}).json()
    # Only the east round's three stops: one read, one skipped, one pending.
    assert sorted(f["properties"]["usage_point"] for f in stops["features"]) == sorted(
        s.usage_point.code for s in east_stops
    )
    assert sorted(f["properties"]["status"] for f in stops["features"]) == [
        "pending",
        "read",
        "skipped",
    ]
    assert {f["properties"]["reader"] for f in stops["features"]} == {"READER-1"}
    assert client.get("/static/js/round_map.js").status_code == 200


def test_board_detail_and_seal_inventory(client, db, make_stop) -> None:
    code = east_agency(db, "FIELD-PAGES2")
    stop = make_stop(2.45, 6.35)
    order = service.create_work_order(
        db,
        actor=OFFICE,
        data=WorkOrderCreate(kind="cut", usage_point_id=stop.usage_point.id, reason="arrears"),
    )
    service.receive_seal_batch(
        db,
        actor=OFFICE,
        data=SealBatchCreate(
            code="PG-B",
            kind="wire",
            prefix="PG",
            first_number=1,
            last_number=4,
            digits=3,
            received_at=utc(2025, 3, 1),
        ),
    )
    service.report_seal_anomaly(
        db,
        actor=OFFICE,
        data=SealAnomaly(
            anomaly="found_missing", visit={"work_order_id": order.id}, at=utc(2025, 4, 2)
        ),
    )
    db.commit()
    _sign_in(client, db, "pages-head", "manager")  # head office: every territory
    board = client.get("/field/work-orders")
    assert board.status_code == 200
    assert f'data-work-order-id="{order.id}"' in board.text
    detail = client.get(f"/field/work-orders/{order.id}")
    assert detail.status_code == 200 and order.number in detail.text and "arrears" in detail.text
    seals = client.get("/field/seals")
    assert seals.status_code == 200
    assert 'data-batch="PG-B"' in seals.text and "PG001 \u2013 PG004" in seals.text
    assert "missing" in seals.text
    client.post("/logout")
    client.cookies.clear()
    _sign_in(client, db, "pages-east2", "fraud_analyst", agency=code)
    # The east analyst sees the order at its usage point, not the head-office seal batch.
    assert f'data-work-order-id="{order.id}"' in client.get("/field/work-orders").text
    assert 'data-batch="PG-B"' not in client.get("/field/seals").text
    client.post("/logout")
    client.cookies.clear()
    _sign_in(client, db, "pages-cashier", "cashier")
    assert client.get("/field/work-orders").status_code == 403
