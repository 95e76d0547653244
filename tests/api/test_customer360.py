"""The 360° views return exactly what is known about a hand-made customer and premises;
401/403/404 are problems; staff of a bounded agency get 404 outside their territory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.auth.scopes import ROLE_SCOPES, Role
from customers.models import (
    Account,
    Case,
    CaseStatusChange,
    Contract,
    ContractRoleAssignment,
    ContractTransition,
    Interaction,
    Party,
    PartyPhone,
    ServiceLocation,
    UsagePoint,
)
from meters.models import Meter, MeterInstallation, Register
from meters.readings.importer import import_readings_from_rows
from tests.conftest import bearer

PROBLEM = "application/problem+json"


def _month(offset: int) -> datetime:
    """The 10th of the month ``offset`` months before the current one, 09:00 UTC."""
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - offset
    return datetime(index // 12, index % 12 + 1, 10, 9, tzinfo=UTC)


@pytest.fixture()
def customer(db: Session) -> dict[str, object]:
    """Awa, tenant at premises P (owner: Codjo) since before the window; a previous occupant
    (Codjo himself) long ago; one meter replaced mid-window; reads every month, one of them
    backwards (rejected); one case with its history and an interaction."""
    awa = Party(kind="person", display_name="Awa SANNI", first_name="Awa", last_name="Sanni")
    codjo = Party(
        kind="person", display_name="Codjo AGOSSOU", first_name="Codjo", last_name="Agossou"
    )
    db.add_all([awa, codjo])
    db.flush()
    db.add(
        PartyPhone(party_id=awa.id, e164="+2290197000001", raw="01 97 00 00 01", is_primary=True)
    )
    premises = ServiceLocation(
        code="PRM-T360-1",
        address_line="Carré 12, maison Sanni",
        district="Akpakpa",
        city="Cotonou",
        geom=WKTElement("POINT(2.45 6.37)", srid=4326),
    )
    db.add(premises)
    db.flush()
    up = UsagePoint(
        code="UP-T360-1",
        service_location_id=premises.id,
        category="residential",
        subscribed_power_kva=Decimal("3.3"),
    )
    db.add(up)
    account_awa = Account(number="9000000001", payer_party_id=awa.id)
    account_codjo = Account(number="9000000002", payer_party_id=codjo.id)
    db.add_all([account_awa, account_codjo])
    db.flush()
    old = Contract(
        number="CT-T360-OLD",
        holder_party_id=codjo.id,
        usage_point_id=up.id,
        account_id=account_codjo.id,
        tariff_code="BT1-DOM",
        subscribed_power_kva=Decimal("3.3"),
        start_date=date(2015, 1, 1),
        end_date=date(2019, 6, 1),
        status="ended",
    )
    current = Contract(
        number="CT-T360-NOW",
        holder_party_id=awa.id,
        usage_point_id=up.id,
        account_id=account_awa.id,
        tariff_code="BT1-DOM",
        subscribed_power_kva=Decimal("3.3"),
        start_date=date(2019, 6, 1),
        status="active",
    )
    db.add_all([old, current])
    db.flush()
    db.add_all(
        [
            ContractRoleAssignment(contract_id=old.id, party_id=codjo.id, role="holder"),
            ContractRoleAssignment(contract_id=current.id, party_id=awa.id, role="holder"),
            ContractRoleAssignment(contract_id=current.id, party_id=awa.id, role="tenant"),
            ContractRoleAssignment(contract_id=current.id, party_id=codjo.id, role="owner"),
            ContractTransition(
                contract_id=current.id,
                event="move_in",
                from_status="pending",
                to_status="active",
                actor="test",
                at=datetime(2019, 6, 1, tzinfo=UTC),
            ),
        ]
    )
    first = Meter(serial="T360-A-0001", meter_type="postpaid", dial_digits=5, status="removed")
    second = Meter(serial="T360-B-0002", meter_type="prepaid", dial_digits=6, status="installed")
    db.add_all([first, second])
    db.flush()
    db.add_all(
        [Register(meter_id=first.id, code="total"), Register(meter_id=second.id, code="total")]
    )
    swap = _month(4).replace(day=5)
    inst_a = MeterInstallation(
        meter_id=first.id,
        usage_point_id=up.id,
        installed_at=datetime(2019, 6, 1, tzinfo=UTC),
        start_indexes={"total": "100"},
        removed_at=swap,
        end_indexes={"total": "2050"},
        removal_reason="faulty",
    )
    db.add(inst_a)
    db.flush()
    db.add(
        MeterInstallation(
            meter_id=second.id,
            usage_point_id=up.id,
            installed_at=swap,
            start_indexes={"total": "0"},
            replaces_installation_id=inst_a.id,
        )
    )
    case = Case(
        number="CS-T360-1",
        case_type="complaint",
        subject="Facture trop élevée",
        party_id=awa.id,
        service_location_id=premises.id,
        usage_point_id=up.id,
        opened_at=_month(2),
        sla_working_days=10,
        due_date=_month(2).date(),
    )
    db.add(case)
    db.flush()
    db.add_all(
        [
            CaseStatusChange(
                case_id=case.id, event="open", to_status="open", actor="test", at=_month(2)
            ),
            Interaction(
                party_id=awa.id,
                case_id=case.id,
                channel="phone",
                direction="in",
                occurred_at=_month(2),
                subject="Appel facture",
            ),
        ]
    )
    db.flush()
    # Reads: meter A at months 8..5 (month 6 going backwards), meter B at months 3..1.
    rows = [
        {"serial": "T360-A-0001", "read_at": _month(8), "value": "1500", "source": "handheld"},
        {"serial": "T360-A-0001", "read_at": _month(7), "value": "1700", "source": "handheld"},
        {"serial": "T360-A-0001", "read_at": _month(6), "value": "1650", "source": "handheld"},
        {"serial": "T360-A-0001", "read_at": _month(5), "value": "1900", "source": "handheld"},
        {"serial": "T360-B-0002", "read_at": _month(3), "value": "120", "source": "handheld"},
        {"serial": "T360-B-0002", "read_at": _month(2), "value": "330", "source": "handheld"},
        {"serial": "T360-B-0002", "read_at": _month(1), "value": "530", "source": "handheld"},
        # Outside the 24-month window: fetched for the opening index, never shown.
        {"serial": "T360-A-0001", "read_at": _month(26), "value": "900", "source": "handheld"},
    ]
    report = import_readings_from_rows(db, rows)
    assert report.new == len(rows)
    db.commit()
    return {
        "awa": awa.id,
        "codjo": codjo.id,
        "premises": premises.id,
        "up": up.id,
        "old": old.id,
        "current": current.id,
        "case": case.id,
    }


def test_customer_360_returns_exactly_what_is_known(
    client: TestClient, make_user: Callable[..., str], customer: dict[str, int]
) -> None:
    token = make_user("customer_desk")
    response = client.get(f"/api/v1/customers/{customer['awa']}/360", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["party"]["display_name"] == "Awa SANNI"
    assert [p["e164"] for p in body["party"]["phones"]] == ["+2290197000001"]
    # Awa's contract only (Codjo's old one is not hers), with all its roles and history.
    assert [c["number"] for c in body["contracts"]] == ["CT-T360-NOW"]
    assert sorted((r["display_name"], r["role"]) for r in body["contracts"][0]["roles"]) == [
        ("Awa SANNI", "holder"),
        ("Awa SANNI", "tenant"),
        ("Codjo AGOSSOU", "owner"),
    ]
    assert [h["event"] for h in body["contracts"][0]["history"]] == ["move_in"]
    assert [a["number"] for a in body["accounts"]] == ["9000000001"]
    (up,) = body["usage_points"]
    assert (up["code"], up["connection_state"]) == ("UP-T360-1", "connected")
    assert up["premises"]["location"] == {"type": "Point", "coordinates": [2.45, 6.37]}
    assert [(m["serial"], m["end_index"]) for m in up["meters"]] == [
        ("T360-A-0001", "2050"),
        ("T360-B-0002", None),
    ]
    assert [
        (r["meter_serial"], Decimal(r["value"]), r["status"], r["reason_codes"])
        for r in up["readings"]
    ] == [
        ("T360-A-0001", 1500, "accepted", []),
        ("T360-A-0001", 1700, "accepted", []),
        ("T360-A-0001", 1650, "rejected", ["negative_advance"]),
        ("T360-A-0001", 1900, "accepted", []),
        ("T360-B-0002", 120, "flagged", ["meter_change_in_period"]),
        ("T360-B-0002", 330, "accepted", []),
        ("T360-B-0002", 530, "accepted", []),
    ]
    by_month = {c["month"]: (Decimal(c["kwh"]), c["meter_changed"]) for c in up["consumption"]}
    month = lambda k: _month(k).strftime("%Y-%m")  # noqa: E731
    # 1500 - 900 (the opening read 26 months ago), 1700 - 1500, the rejected read skipped:
    # 1900 - 1700; the swap month: 2050 - 1900 (old meter) + 120 - 0 (new meter).
    assert by_month[month(8)] == (600, False)
    assert by_month[month(7)] == (200, False)
    assert by_month[month(6)] == (0, False)
    assert by_month[month(5)] == (200, False)
    assert by_month[month(4)] == (150, False)
    assert by_month[month(3)] == (120, False)
    assert by_month[month(2)] == (210, False)
    assert by_month[month(1)] == (200, False)
    assert len(body["window"]["months"]) == 25
    assert [(c["number"], [h["to_status"] for h in c["history"]]) for c in body["cases"]] == [
        ("CS-T360-1", ["open"])
    ]
    assert [i["subject"] for i in body["interactions"]] == ["Appel facture"]


def test_premises_360_lists_occupants_over_time(
    client: TestClient, make_user: Callable[..., str], customer: dict[str, int]
) -> None:
    token = make_user("technician")
    response = client.get(f"/api/v1/premises/{customer['premises']}/360", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(o["display_name"], o["role"], o["contract_status"]) for o in body["occupants"]] == [
        ("Awa SANNI", "holder", "active"),
        ("Awa SANNI", "tenant", "active"),
        ("Codjo AGOSSOU", "owner", "active"),
        ("Codjo AGOSSOU", "holder", "ended"),
    ]
    assert [c["number"] for c in body["contracts"]] == ["CT-T360-NOW", "CT-T360-OLD"]
    assert len(body["usage_points"][0]["readings"]) == 7
    assert [c["number"] for c in body["cases"]] == ["CS-T360-1"]


def test_search_finds_the_customer_by_meter_serial(
    client: TestClient, make_user: Callable[..., str], customer: dict[str, int]
) -> None:
    token = make_user("customer_desk")
    found = client.get(
        "/api/v1/customers/search", params={"q": "T360-B-0002"}, headers=bearer(token)
    ).json()
    hits = {h["party_id"]: h for h in found["items"]}
    assert set(hits) == {customer["awa"], customer["codjo"]}
    assert hits[customer["awa"]]["matched_on"] == ["meter_serial"]
    assert found["items"][0]["party_id"] in {customer["awa"], customer["codjo"]}


def test_problems_401_403_404_and_territory(
    client: TestClient,
    db: Session,
    make_user: Callable[..., str],
    customer: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"/api/v1/customers/{customer['awa']}/360"
    response = client.get(url)
    assert (response.status_code, response.headers["content-type"]) == (401, PROBLEM)
    assert response.json()["code"] == "not_authenticated"
    cashier = make_user("cashier")
    monkeypatch.setitem(ROLE_SCOPES, Role.CASHIER, frozenset({"billing:read"}))
    response = client.get(url, headers=bearer(cashier))
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    desk = make_user("customer_desk")
    response = client.get("/api/v1/customers/987654321/360", headers=bearer(desk))
    assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM)
    assert response.json()["code"] == "party_not_found"
    response = client.get("/api/v1/premises/987654321/360", headers=bearer(desk))
    assert response.status_code == 404
    # A clerk of an agency whose territory lies west of the premises sees nothing of it.
    db.add(
        Agency(
            code="WEST-360",
            name="West",
            territory=WKTElement(
                "MULTIPOLYGON(((2.0 6.0, 2.3 6.0, 2.3 6.6, 2.0 6.6, 2.0 6.0)))", srid=4326
            ),
        )
    )
    db.add(
        Agency(
            code="EAST-360",
            name="East",
            territory=WKTElement(
                "MULTIPOLYGON(((2.4 6.0, 2.6 6.0, 2.6 6.6, 2.4 6.6, 2.4 6.0)))", srid=4326
            ),
        )
    )
    db.commit()
    west = make_user("customer_desk", agency="WEST-360")
    east = make_user("customer_desk", agency="EAST-360")
    assert client.get(url, headers=bearer(west)).status_code == 404
    assert (
        client.get(f"/api/v1/premises/{customer['premises']}/360", headers=bearer(west)).status_code
        == 404
    )
    assert client.get(url, headers=bearer(east)).status_code == 200
    assert (
        client.get(f"/api/v1/premises/{customer['premises']}/360", headers=bearer(east)).status_code
        == 200
    )


def test_monthly_consumption_follows_the_local_calendar() -> None:
    """A read taken at 23:30 UTC on 31 January is 00:30 on 1 February in Porto-Novo
    (UTC+1): its interval closes in February, where the utility bills it."""
    from meters.customer_file import monthly_consumption

    installation = {
        "installation_id": 1,
        "installed_at": datetime(2024, 1, 1, tzinfo=UTC),
        "start_index": "100",
        "removed_at": None,
        "end_index": None,
        "dial_digits": 5,
        "multiplier": Decimal(1),
    }
    reads = [
        {
            "read_at": datetime(2024, 1, 31, 23, 30, tzinfo=UTC),
            "value": "160",
            "status": "accepted",
            "source": "handheld",
            "installation_id": 1,
        }
    ]
    months = ["2024-01", "2024-02"]
    rows = monthly_consumption([installation], reads, months, datetime(2023, 12, 1, tzinfo=UTC))
    assert [(r["month"], r["kwh"], r["has_actual_read"]) for r in rows] == [
        ("2024-01", 0, False),
        ("2024-02", 60, True),
    ]
