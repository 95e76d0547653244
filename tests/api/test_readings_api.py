"""Meter and reading endpoints: auth problems write nothing, outcomes, imports, consumption."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from customers.models import ServiceLocation, UsagePoint
from meters.models import Meter, MeterInstallation, Reading
from tests.conftest import bearer


def _soon() -> str:
    """Two hours from now: in the future (rejected as such), yet inside the bounds a read
    may have at all (beyond them a read is refused before anything is stored)."""
    return (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _usage_point(db: Session, category: str = "commercial") -> UsagePoint:
    code = uuid.uuid4().hex[:10]
    location = ServiceLocation(code=f"SL-{code}", address_line="Rue 2")
    db.add(location)
    db.flush()
    point = UsagePoint(
        code=f"UP-{code}",
        service_location_id=location.id,
        category=category,
        subscribed_power_kva=3,
    )
    db.add(point)
    db.flush()
    return point


def _counts(db: Session) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(Meter)),
        db.scalar(select(func.count()).select_from(Reading)),
    )


def _stock_meter(client, token, meter_type: str = "postpaid") -> dict:
    meter = client.post(
        "/api/v1/meters",
        headers=bearer(token),
        json={"serial": f"API{uuid.uuid4().hex[:8]}", "meter_type": meter_type, "dial_digits": 5},
    )
    assert meter.status_code == 201, meter.text
    return meter.json()


def _installed_meter(client, token, db, start=99_000) -> tuple[dict, UsagePoint]:
    point = _usage_point(db)
    meter = _stock_meter(client, token)
    installed = client.post(
        f"/api/v1/meters/{meter['id']}/install",
        headers=bearer(token),
        json={
            "usage_point_id": point.id,
            "installed_at": "2025-01-01T00:00:00Z",
            "start_index": start,
        },
    )
    assert installed.status_code == 201, installed.text
    return meter, point


def test_401_403_422_are_problems_and_write_nothing(client, db, make_user) -> None:
    before = _counts(db)
    body = {"serial": "X1", "meter_type": "postpaid"}
    anonymous = client.post("/api/v1/meters", json=body)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert anonymous.headers["content-type"] == "application/problem+json"
    reader = make_user("manager")  # meters:read only
    forbidden = client.post("/api/v1/meters", json=body, headers=bearer(reader))
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    denied_import = client.post(
        "/api/v1/readings/imports",
        headers=bearer(reader),
        files={"file": ("r.csv", b"serial,read_at,value,source\n")},
    )
    assert denied_import.status_code == 403
    writer = make_user("billing_officer")
    bad = client.post(
        "/api/v1/meters", json={"serial": "", "meter_type": "steam"}, headers=bearer(writer)
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"serial", "meter_type"}
    naive = client.post(
        "/api/v1/readings",
        headers=bearer(writer),
        json={"meter_serial": "X1", "read_at": "2025-01-01T00:00:00", "value": 5, "source": "ami"},
    )
    assert (naive.status_code, naive.json()["errors"][0]["field"]) == (422, "read_at")
    assert _counts(db) == before


def test_recording_a_read_returns_its_outcome_and_rollover_consumption(client, db, make_user):
    token = make_user("billing_officer")
    meter, point = _installed_meter(client, token, db)
    first = client.post(
        "/api/v1/readings",
        headers=bearer(token),
        json={
            "meter_serial": meter["serial"],
            "read_at": "2025-01-31T09:00:00Z",
            "value": 99_870,
            "source": "handheld",
        },
    )
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["rule_set_version"]) == ("accepted", 1)
    rolled = client.post(
        "/api/v1/readings",
        headers=bearer(token),
        json={
            "meter_serial": meter["serial"],
            "read_at": "2025-02-28T09:00:00Z",
            "value": 130,
            "source": "handheld",
        },
    ).json()
    assert (rolled["status"], rolled["reason_codes"]) == ("flagged", ["rollover"])
    future = client.post(
        "/api/v1/readings",
        headers=bearer(token),
        json={
            "meter_serial": meter["serial"],
            "read_at": _soon(),
            "value": 200,
            "source": "self_read",
        },
    ).json()
    assert (future["status"], future["reason_codes"]) == ("rejected", ["read_in_future"])
    # February: 130 + 100,000 - 99,870 = 260 kWh
    feb = client.get(
        f"/api/v1/usage-points/{point.id}/consumption",
        headers=bearer(token),
        params={"period_from": "2025-02-01T00:00:00Z", "period_to": "2025-03-01T00:00:00Z"},
    )
    assert [(c["register_code"], c["kwh"]) for c in feb.json()] == [("total", "260")]
    page = client.get(
        f"/api/v1/meters/{meter['id']}/readings", headers=bearer(token), params={"limit": 2}
    ).json()
    assert [r["value"] for r in page["items"]] == ["200.000", "130.000"]
    rest = client.get(
        f"/api/v1/meters/{meter['id']}/readings",
        headers=bearer(token),
        params={"limit": 2, "cursor": page["next_cursor"]},
    ).json()
    assert ([r["value"] for r in rest["items"]], rest["next_cursor"]) == (["99870.000"], None)


def test_csv_import_is_idempotent_and_reports_codes(client, db, make_user):
    token = make_user("billing_officer")
    meter, _ = _installed_meter(client, token, db, start=100)
    csv = (
        f"serial,read_at,value,source\n{meter['serial']},2025-01-31T08:00:00Z,300,ami\n"
        f"{meter['serial']},2025-02-28T08:00:00Z,250,ami\n"
        f"{meter['serial']},{_soon()},900,ami\n"
    ).encode()
    first = client.post(
        "/api/v1/readings/imports",
        headers=bearer(token),
        files={"file": ("reads.csv", csv, "text/csv")},
    )
    assert first.status_code == 200, first.text
    report = first.json()
    # 250 after 300: wrapped 250 + 100,000 - 300 = 99,950 > 10% of the dials -> negative
    assert (report["rows"], report["new"], report["accepted"], report["rejected"]) == (3, 3, 1, 2)
    assert report["rejected_by_code"] == {"negative_advance": 1, "read_in_future": 1}
    again = client.post(
        "/api/v1/readings/imports",
        headers=bearer(token),
        files={"file": ("reads.csv", csv, "text/csv")},
    ).json()
    assert (again["new"], again["duplicates"]) == (0, 3)
    stored = db.scalar(
        select(func.count()).select_from(Reading).where(Reading.meter_id == meter["id"])
    )
    assert stored == 3


def test_a_malformed_csv_is_a_422_naming_each_line_and_writes_nothing(client, db, make_user):
    token = make_user("billing_officer")
    meter, _ = _installed_meter(client, token, db)
    before = _counts(db)
    csv = (
        f"serial,read_at,value,source\n{meter['serial']},2025-01-31T08:00:00Z,300,ami\n"
        f"{meter['serial']},yesterday,250,ami\n{meter['serial']},2025-03-31T08:00:00Z,x,ami\n"
    ).encode()
    response = client.post(
        "/api/v1/readings/imports",
        headers=bearer(token),
        files={"file": ("reads.csv", csv, "text/csv")},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "reading_import_invalid"
    assert [e["field"] for e in problem["errors"]] == ["line 3", "line 4"]
    assert _counts(db) == before


def test_invalid_lifecycle_move_is_a_409_problem(client, db, make_user):
    token = make_user("billing_officer")
    meter, point = _installed_meter(client, token, db)
    scrap = client.post(f"/api/v1/meters/{meter['id']}/scrap", headers=bearer(token))
    assert (scrap.status_code, scrap.json()["code"]) == (409, "meter_transition_invalid")
    other = _stock_meter(client, token, "smart")
    replaced = client.post(
        f"/api/v1/usage-points/{point.id}/replace-meter",
        headers=bearer(token),
        json={
            "new_meter_id": other["id"],
            "replaced_at": "2025-03-01T00:00:00Z",
            "old_end_index": 99_500,
            "new_start_index": 0,
        },
    )
    assert replaced.status_code == 201, replaced.text
    assert (
        client.get(f"/api/v1/meters/{meter['id']}", headers=bearer(token)).json()["status"]
        == "removed"
    )


def test_an_overlapping_back_dated_installation_is_a_409_and_writes_nothing(client, db, make_user):
    token = make_user("billing_officer")
    meter, point = _installed_meter(client, token, db)
    removed = client.post(
        f"/api/v1/meters/{meter['id']}/remove",
        headers=bearer(token),
        json={"removed_at": "2025-06-01T00:00:00Z", "end_index": 99_500},
    )
    assert removed.status_code == 200, removed.text
    other = _stock_meter(client, token)
    # The usage point has no active meter now, but had one in March.
    back_dated = client.post(
        f"/api/v1/meters/{other['id']}/install",
        headers=bearer(token),
        json={"usage_point_id": point.id, "installed_at": "2025-03-01T00:00:00Z", "start_index": 0},
    )
    assert (back_dated.status_code, back_dated.json()["code"]) == (
        409,
        "meter_installation_conflict",
    )
    assert back_dated.headers["content-type"] == "application/problem+json"
    assert client.get(f"/api/v1/meters/{other['id']}", headers=bearer(token)).json()["status"] == (
        "in_stock"
    )
    installed = select(func.count()).where(MeterInstallation.meter_id == other["id"])
    assert db.scalar(installed) == 0


def test_ids_cursors_and_offsets_beyond_bigint_are_422s(client, db, make_user):
    token = make_user("billing_officer")
    meter, _ = _installed_meter(client, token, db)
    huge = 2**63
    for method, url, params, body in (
        ("get", f"/api/v1/meters/{huge}", {}, None),
        ("get", f"/api/v1/meters/{huge}/installations", {}, None),
        ("get", f"/api/v1/meters/{huge}/readings", {}, None),
        ("get", f"/api/v1/usage-points/{huge}/readings", {}, None),
        ("get", f"/api/v1/meters/{meter['id']}/readings", {"cursor": huge}, None),
        ("get", "/api/v1/meters", {"offset": huge}, None),
        ("post", f"/api/v1/meters/{huge}/scrap", {}, None),
        ("post", "/api/v1/readings/estimates", {}, {"register_id": huge, "at": "2025-02-01Z"}),
        (
            "post",
            f"/api/v1/meters/{meter['id']}/install",
            {},
            {"usage_point_id": huge, "installed_at": "2025-02-01Z", "start_index": 0},
        ),
    ):
        response = client.request(method, url, params=params, json=body, headers=bearer(token))
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_a_cursor_from_another_feed_is_a_422(client, db, make_user):
    token = make_user("billing_officer")
    first, _ = _installed_meter(client, token, db)
    second, _ = _installed_meter(client, token, db)
    for meter, at in ((first, "2025-01-31T09:00:00Z"), (second, "2025-01-31T09:00:00Z")):
        client.post(
            "/api/v1/readings",
            headers=bearer(token),
            json={"meter_serial": meter["serial"], "read_at": at, "value": 99_100, "source": "ami"},
        )
    other_id = db.scalar(select(Reading.id).where(Reading.meter_id == second["id"]))
    response = client.get(
        f"/api/v1/meters/{first['id']}/readings",
        headers=bearer(token),
        params={"cursor": other_id},
    )
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "cursor")
