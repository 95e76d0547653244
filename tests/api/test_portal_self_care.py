"""The portal's meter and prepaid pages' API: a customer's own reads judged by the readings
rules (accepted, flagged then confirmed, rejected; with a photo), their reading history, and
a prepaid customer's purchases with their deductions. Hand-computed throughout.

The customer (``tests.billing.world``, tariff KW-TEST, 6-dial meter fitted 2025-12-31 at 0)
was read by the reader every 30 days, 300 kWh each time:
  2026-01-31 300 · 2026-03-02 600 · 2026-04-01 900  (10:00 UTC)
A read on 2026-05-01 10:00 (30 days on) is judged against the rate of the reads after the
first of the last three: (300 + 300) kWh / 60 days = 10 kWh/day (meters.readings.timeline):
  low  = 10 x 30 x 0.2 = 60 kWh   -> index 900 + 60  = 960
  high = 10 x 30 x 3.0 = 900 kWh  -> index 900 + 900 = 1800
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.payments import vending
from core.context import SYSTEM
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from core.settings import get_settings
from customers.models import Contract
from customers.portal import service as portal
from meters.models import Reading
from mobile_sync import attachments
from tests.billing import world
from tests.e2e.handheld_support import camera_png

PASSWORD = "a long portal password"
MAY_1 = "2026-05-01T10:00:00Z"


def _portal_headers(db: Session, party_id: int, login: str) -> dict[str, str]:
    """The party signs up to the portal (the desk links the existing party) and signs in."""
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        portal.register(
            db,
            first_name="Awa",
            last_name="Self",
            login=login,
            password=PASSWORD,
            party_id=party_id,
        )
        code = re.search(r"\b(\d{6})\b", outbox.sent[-1].body)
        assert code
        portal.verify(db, login=login, code=code.group(1))
    _identity, token, _ttl = portal.sign_in(db, login=login, password=PASSWORD)
    db.commit()  # the world stays when a refused request rolls its own work back
    return {"Authorization": f"Bearer {token}"}


def _supplied(db: Session, login: str) -> tuple[world.Customer, int, dict[str, str]]:
    who = world.customer(db)
    for day in (date(2026, 1, 31), date(2026, 3, 2), date(2026, 4, 1)):
        world.read(db, who, day, 300)
    party_id = db.get(Contract, who.contract_id).holder_party_id
    meter_id = db.scalar(
        select(Reading.meter_id).where(Reading.register_id == who.register_id).limit(1)
    )
    return who, meter_id, _portal_headers(db, party_id, login)


@pytest.fixture()
def photos(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "sync_attachments_dir", tmp_path / "attachments")
    return tmp_path / "attachments"


def _read(client: TestClient, headers: dict[str, str], meter_id: int, value: str, **extra):  # type: ignore[no-untyped-def]
    data = {"value": value, "read_at": MAY_1, **{k: str(v).lower() for k, v in extra.items()}}
    return client.post(f"/api/v1/portal/meters/{meter_id}/readings", headers=headers, data=data)


def test_a_customer_sees_their_meter_and_the_range_the_rules_expect(
    client: TestClient, db: Session
) -> None:
    _who, meter_id, headers = _supplied(db, "range@example.org")
    meters = client.get("/api/v1/portal/meters", headers=headers).json()
    assert [(m["id"], [r["code"] for r in m["registers"]]) for m in meters] == [
        (meter_id, ["total"])
    ]
    register = meters[0]["registers"][0]
    assert Decimal(register["previous"]) == 900  # the reader's read of 2026-04-01


def test_a_plausible_self_read_is_stored_as_the_customers_and_shows_in_the_history(
    client: TestClient, db: Session, photos
) -> None:
    _who, meter_id, headers = _supplied(db, "plausible@example.org")
    photo = camera_png(64, 48)
    sent = client.post(
        f"/api/v1/portal/meters/{meter_id}/readings",
        headers=headers,
        data={"value": "1250", "read_at": MAY_1},
        files={"photo": ("dials.png", photo, "image/png")},
    )
    assert sent.status_code == 201, sent.text
    read = sent.json()
    # 1250 - 900 = 350 kWh in 30 days: inside [60, 900], accepted.
    assert (read["source"], read["status"], read["reason_codes"], read["has_photo"]) == (
        "self_read",
        "accepted",
        [],
        True,
    )
    sha = hashlib.sha256(photo).hexdigest()
    assert attachments.stored(db, sha) is not None and attachments.file_matches(sha)
    history = client.get(f"/api/v1/portal/meters/{meter_id}/readings", headers=headers).json()
    assert [(h["value"], h["source"], h["status"]) for h in history] == [
        ("1250.000", "self_read", "accepted"),
        ("900.000", "handheld", "accepted"),
        ("600.000", "handheld", "accepted"),
        ("300.000", "handheld", "accepted"),
    ]
    # The reads count for consumption like any other: the stored row is the customer's.
    stored = db.scalar(select(Reading).where(Reading.id == read["id"]))
    assert stored.source == "self_read" and stored.value == Decimal("1250")
    assert stored.reader_id is None  # no staff user read it


def test_a_read_above_the_range_is_refused_until_the_customer_confirms_it(
    client: TestClient, db: Session
) -> None:
    _who, meter_id, headers = _supplied(db, "high@example.org")
    # 2100 - 900 = 1200 kWh > 900: the rules flag it (out_of_range_high).
    refused = _read(client, headers, meter_id, "2100")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "reading_implausible"
    assert problem["reason_codes"] == ["out_of_range_high"]
    assert problem["can_confirm"] is True
    expected = problem["expected"]
    assert [Decimal(expected[k]) for k in ("previous", "low", "high")] == [900, 960, 1800]
    assert (
        client.get(f"/api/v1/portal/meters/{meter_id}/readings", headers=headers).json()[0]["value"]
        == "900.000"
    )  # nothing stored
    kept = _read(client, headers, meter_id, "2100", confirm=True)
    assert kept.status_code == 201, kept.text
    assert (kept.json()["status"], kept.json()["reason_codes"]) == (
        "flagged",
        ["out_of_range_high"],
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("850", "negative_advance"),  # 850 < 900: backwards by far more than a rollover
        ("1000000", "value_exceeds_dials"),  # six dials count up to 999 999
    ],
)
def test_an_impossible_read_is_refused_even_confirmed_and_nothing_is_stored(
    client: TestClient, db: Session, value: str, code: str
) -> None:
    _who, meter_id, headers = _supplied(db, f"{code}@example.org")
    before = db.scalar(select(func.count()).select_from(Reading))
    refused = _read(client, headers, meter_id, value, confirm=True)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "reading_implausible"
    assert code in refused.json()["reason_codes"]
    assert refused.json()["can_confirm"] is False
    assert db.scalar(select(func.count()).select_from(Reading)) == before


def test_bad_input_and_other_peoples_meters(client: TestClient, db: Session, photos) -> None:
    _who, meter_id, headers = _supplied(db, "owner@example.org")
    _other, other_meter, _ = _supplied(db, "neighbour@example.org")
    assert _read(client, headers, other_meter, "1250").status_code == 404
    assert (
        client.get(f"/api/v1/portal/meters/{other_meter}/readings", headers=headers).status_code
        == 404
    )
    assert _read(client, headers, meter_id, "-1").status_code == 422
    assert _read(client, headers, meter_id, "12.3456").status_code == 422  # 3 decimals at most
    not_a_photo = client.post(
        f"/api/v1/portal/meters/{meter_id}/readings",
        headers=headers,
        data={"value": "1250", "read_at": MAY_1},
        files={"photo": ("dials.png", b"not an image at all", "image/png")},
    )
    assert not_a_photo.status_code == 415, not_a_photo.text
    assert [
        h["value"]
        for h in client.get(f"/api/v1/portal/meters/{meter_id}/readings", headers=headers).json()
    ] == ["900.000", "600.000", "300.000"]  # the read went with the photo
    wrong = _read(client, headers, meter_id, "1250", register_code="peak")
    assert wrong.status_code == 404 and wrong.json()["code"] == "register_not_found"


def test_a_prepaid_customer_sees_their_purchases_with_tokens_and_deductions(
    client: TestClient, db: Session
) -> None:
    who = world.customer(db)
    party_id = db.get(Contract, who.contract_id).holder_party_id
    headers = _portal_headers(db, party_id, "prepaid@example.org")
    at = world.at(date(2026, 5, 4))
    first = vending.vend(
        db, SYSTEM, contract_id=who.contract_id, meter_serial=who.meter_serial, amount=5000, at=at
    )
    vending.vend(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        meter_serial=who.meter_serial,
        amount=1000,
        at=world.at(date(2026, 5, 20)),
    )
    vends = client.get(
        f"/api/v1/portal/accounts/{who.account_id}/prepaid-vends", headers=headers
    ).json()
    shown = [
        (
            v["amount"],
            v["energy_amount"],
            {(d["kind"], d["amount"]) for d in v["deductions"]},
            v["credit"],
            Decimal(v["kwh"]),
        )
        for v in vends
    ]
    # KW-TEST: 500 fixed a month, 50/kWh up to 100 kWh, TVA 18 % on both (half-up).
    # 20 May, 1000 on top of 74 kWh: 90 kWh bills (500 + 4500) x 1.18 = 5900, 944 more than
    #   4956 (91 kWh would be 1003 more): 16 kWh = 800 energy + 144 TVA; credit 56.
    # 4 May, first purchase of the month, 5000: 74 kWh -> (500 + 3700) x 1.18 = 4956
    #   (75 kWh: 5015 > 5000): 3700 energy, 500 fixed + 756 TVA deducted; credit 44.
    assert shown == [
        (1000, 800, {("tax", 144)}, 56, 16),
        (5000, 3700, {("fixed", 500), ("tax", 756)}, 44, 74),
    ]
    assert vends[1]["token"] == first.token and vends[1]["meter_serial"] == who.meter_serial
    stranger = _portal_headers(
        db,
        db.get(Contract, world.customer(db).contract_id).holder_party_id,
        "stranger@example.org",
    )
    assert (
        client.get(
            f"/api/v1/portal/accounts/{who.account_id}/prepaid-vends", headers=stranger
        ).status_code
        == 404
    )


def test_the_page_offers_the_sections_and_its_form_posts_with_the_cookie(
    client: TestClient, db: Session, photos
) -> None:
    """The /my page (browser-free): its sections and script, and the self-read form's
    multipart post authenticated by the portal cookie alone (no bearer), photo included;
    an upload with no token at all is refused before it is read."""
    _who, meter_id, _headers = _supplied(db, "cookie@example.org")
    signed = client.post(
        "/my/session",
        data={"login": "cookie@example.org", "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = {"kw_portal": signed.cookies["kw_portal"]}
    page = client.get("/my", cookies=cookie).text
    for hook in ("meters", "self-read", "readings", "vends", "cases", "prefs", "requests"):
        assert f'id="{hook}"' in page, hook
    assert 'name="viewport" content="width=device-width' in page  # a phone's width
    assert client.get("/static/js/my.js").status_code == 200
    form = {"value": "1250", "read_at": MAY_1}
    photo = {"photo": ("dials.png", camera_png(32, 24), "image/png")}
    client.cookies.clear()  # the sign-in left its cookie in the client's jar
    anonymous = client.post(f"/api/v1/portal/meters/{meter_id}/readings", data=form, files=photo)
    assert anonymous.status_code == 401
    client.cookies.set("kw_portal", cookie["kw_portal"])
    sent = client.post(f"/api/v1/portal/meters/{meter_id}/readings", data=form, files=photo)
    assert sent.status_code == 201, sent.text
    assert (sent.json()["status"], sent.json()["has_photo"]) == ("accepted", True)
