"""Tariff pages: the tariff book, a tariff's components in tables, and the bill calculator
showing every line of a hand-computable SBEE-like bill."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.money import format_money
from tests.api.test_pages import _sign_in
from tests.billing.tariffs import FIXTURES
from tests.conftest import bearer

SBEE = "SBEE-BT-DOM"


def _import(client: TestClient, make_user, name: str) -> None:
    path = FIXTURES / name
    officer = bearer(make_user("billing_officer"))
    files = {"file": (path.name, path.read_bytes(), "application/yaml")}
    assert client.post("/api/v1/tariffs/imports", headers=officer, files=files).status_code == 200


@pytest.fixture()
def sbee(client: TestClient, make_user) -> str:
    """The illustrative SBEE domestic tariff (social block 0-20 kWh lost above 20 kWh/month,
    109 then 115 XOF/kWh, 400 XOF fixed, 100 XOF levy, 18 % VAT above 20 kWh, total to 5)."""
    _import(client, make_user, "sbee_bt_domestique.yaml")
    return SBEE


def _lines(html: str) -> list[tuple[str, str, int]]:
    """(kind, component, amount in minor units) of each bill line, in order."""
    return [
        (kind, component, int(amount))
        for component, kind, amount in re.findall(
            r'<tr class="tf-line [^"]*" data-component="([^"]+)" data-kind="([^"]+)" '
            r'data-amount="(-?\d+)"',
            html,
        )
    ]


def test_tariff_pages_need_tariffs_read(client: TestClient, db: Session, sbee: str) -> None:
    response = client.get("/tariffs", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/tariffs"
    _sign_in(client, db, "tech.tariffs", "technician")  # no tariffs:read
    assert client.get("/tariffs").status_code == 403
    assert client.get(f"/tariffs/{sbee}").status_code == 403
    assert 'href="/tariffs"' not in client.get("/").text


def test_the_book_lists_tariffs_with_their_versions(
    client: TestClient, db: Session, sbee: str
) -> None:
    _sign_in(client, db, "cash.tariffs", "cashier")
    assert 'href="/tariffs"' in client.get("/").text  # in the menu
    page = client.get("/tariffs")
    assert page.status_code == 200
    assert f'<a href="/tariffs/{sbee}"><b>{sbee}</b></a>' in page.text
    assert "2024-01-01 → …" in page.text
    assert "Energie: 3 block(s) incl. social, incremental" in page.text
    assert client.get("/tariffs", params={"q": "no-such"}).text.count('data-tariff="') == 0


def test_the_tariff_page_shows_components_in_tables(
    client: TestClient, db: Session, sbee: str
) -> None:
    _sign_in(client, db, "desk.tariffs", "customer_desk")
    page = client.get(f"/tariffs/{sbee}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "only for residential; lost above 20 kWh/month" in text
    assert re.search(r"20 \u2013 250</td> <td class=\"num\">109</td>", text)
    assert "none up to 20 kWh/month, then on the whole base" in text
    assert "total: half up to 5 XOF" in text
    assert client.get("/tariffs/NOPE").status_code == 404


def test_calculator_shows_every_line_of_a_hand_computed_bill(
    client: TestClient, db: Session, sbee: str
) -> None:
    _sign_in(client, db, "desk.calc", "customer_desk")
    form = {"kwh.total": "151", "start": "2025-01-01", "end": "2025-02-01"}
    page = client.get(f"/tariffs/{sbee}", params=form)
    assert page.status_code == 200
    # 151 kWh > 20: the social block is lost, all 151 kWh at 109 = 16 459; VAT 18 % of
    # energy + fixed (16 459 + 400) = 3 034.62 -> 3 035; net 16 959 + 3 035 = 19 994,
    # rounded half up to 5 francs: 19 995 (+1).
    assert _lines(page.text) == [
        ("fixed", "prime-fixe", 400),
        ("energy", "energie", 16459),
        ("levy", "redevance-eclairage", 100),
        ("tax", "tva", 3035),
        ("rounding", "rounding", 1),
    ]
    assert f'data-testid="total" data-amount="19995">{format_money(19995, "XOF")}<' in page.text
    assert format_money(16859, "XOF") in page.text  # the VAT's base
    curve = json.loads(re.search(r'id="tf-curve">(.*?)</script>', page.text).group(1))
    assert curve["entered"] == {"x": 151.0, "y": 19995.0}
    totals = {p["x"]: p["y"] for p in curve["points"]}
    # 20 kWh keeps the social block, VAT exempt: 400 + 1 580 + 100 = 2 080; at 21 kWh it is
    # lost and VAT applies: 400 + 2 289 + 100 + 484 (18 % of 2 689) = 3 273 -> 3 275.
    assert (totals[20.0], totals[21.0]) == (2080.0, 3275.0)
    assert curve["thresholds"] == [20.0, 250.0]


def test_calculator_gives_the_social_block_to_residential_customers_only(
    client: TestClient, db: Session, sbee: str
) -> None:
    _sign_in(client, db, "desk.social", "customer_desk")
    form = {"kwh.total": "15", "start": "2025-01-01", "end": "2025-02-01"}
    residential = client.get(f"/tariffs/{sbee}", params=form)
    # 15 kWh at 79 = 1 185, VAT exempt at or under 20 kWh: 400 + 1 185 + 100 = 1 685.
    assert _lines(residential.text) == [
        ("fixed", "prime-fixe", 400),
        ("energy", "energie", 1185),
        ("levy", "redevance-eclairage", 100),
    ]
    commercial = client.get(f"/tariffs/{sbee}", params={**form, "category": "commercial"})
    assert ("energy", "energie", 15 * 109) in _lines(commercial.text)


def test_calculator_explains_bad_input_instead_of_failing(
    client: TestClient, db: Session, sbee: str
) -> None:
    _sign_in(client, db, "desk.bad", "customer_desk")
    before = client.get(
        f"/tariffs/{sbee}", params={"kwh.total": "10", "start": "2020-01-01", "end": "2020-02-01"}
    )
    assert before.status_code == 200
    assert "has no version in force for that period" in before.text
    negative = client.get(
        f"/tariffs/{sbee}", params={"kwh.total": "-3", "start": "2025-01-01", "end": "2025-02-01"}
    )
    assert negative.status_code == 200
    assert 'data-testid="calculator-error"' in negative.text
    assert "kwh.total" in negative.text
    backwards = client.get(
        f"/tariffs/{sbee}", params={"kwh.total": "3", "start": "2025-02-01", "end": "2025-01-01"}
    )
    assert "the end after the start" in backwards.text


def test_calculator_bills_per_kva_and_taxes_on_taxes(
    client: TestClient, db: Session, make_user
) -> None:
    _import(client, make_user, "fr_bleu_base.yaml")
    _sign_in(client, db, "desk.fr", "customer_desk")
    form = {"kwh.total": "200", "start": "2025-03-01", "end": "2025-04-01"}
    missing = client.get("/tariffs/FR-BLEU-BASE", params=form)
    assert "abonnement is charged per subscribed kVA: give the power" in missing.text
    page = client.get("/tariffs/FR-BLEU-BASE", params={**form, "subscribed_kva": "6"})
    # 6 kVA x 2.0733 = 12.44; 200 x 0.2016 = 40.32; accise 200 x 0.0225 = 4.50;
    # CTA 15 % of 12.44 = 1.866 -> 1.87; VAT 20 % of 12.44 + 40.32 + 4.50 + 1.87 = 59.13
    # -> 11.826 -> 11.83; total 70.96 EUR.
    assert _lines(page.text) == [
        ("fixed", "abonnement", 1244),
        ("energy", "energie", 4032),
        ("surcharge", "accise", 450),
        ("tax", "cta", 187),
        ("tax", "tva", 1183),
    ]
    assert format_money(7096, "EUR") in page.text
    assert format_money(5913, "EUR") in page.text  # the VAT's base, CTA included


def test_surcharges_and_minimums_read_in_words(client: TestClient, db: Session, make_user) -> None:
    _import(client, make_user, "br_b1_residencial.yaml")
    _sign_in(client, db, "desk.br", "customer_desk")
    text = re.sub(r"\s+", " ", client.get("/tariffs/BR-B1-RES").text)
    assert "<td>2024-09-01</td><td>2024-11-01</td>" in text.replace("</td> <td>", "</td><td>")
    assert "30 kWh/month billed on total" in text
    assert "included in the prices (grossed up)" in text
    form = {"kwh.total": "310", "start": "2024-08-16", "end": "2024-09-16"}
    split = client.get("/tariffs/BR-B1-RES", params=form).text
    # The bandeira starts on 1 September: the period is cut there, each line shows its days.
    assert "16/08 to 31/08" in split and "01/09 to 15/09" in split
    assert [c for k, c, _ in _lines(split) if k == "surcharge"] == ["bandeira-vermelha-1"]
