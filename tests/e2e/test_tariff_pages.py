"""A cashier opens the tariff book in a real browser, opens the SBEE-like tariff, fills the
bill calculator and sees every bill line, the total and the bill-against-consumption chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

from billing.tariffs import service
from billing.tariffs.documents import parse_document
from billing.tariffs.models import Tariff, TariffVersion
from core.auth.models import User
from core.auth.service import create_user
from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.money import format_money
from tests.billing.tariffs import FIXTURES

pytestmark = pytest.mark.e2e
PASSWORD = "browser-pass-tariff"
CODE = "E2E-SBEE-BT-DOM"


@pytest.fixture()
def tariff_and_cashier(live_url: str) -> object:
    """The SBEE fixture tariff under its own code, and a cashier (tariffs:read), committed."""
    document = parse_document((FIXTURES / "sbee_bt_domestique.yaml").read_bytes())
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        service.import_document(
            session, actor=SYSTEM, document=document.model_copy(update={"code": CODE})
        )
        user_id = create_user(session, username="e2e.till", password=PASSWORD, roles=["cashier"]).id
    yield {"username": "e2e.till", "code": CODE}
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        session.delete(session.get(User, user_id))
        tariff_id = session.scalar(select(Tariff.id).where(Tariff.code == CODE))
        session.execute(delete(TariffVersion).where(TariffVersion.tariff_id == tariff_id))
        session.execute(delete(Tariff).where(Tariff.id == tariff_id))


def test_cashier_simulates_a_bill_on_the_tariff_page(
    browser, live_url: str, tariff_and_cashier: dict, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else offsite.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_url}/tariffs")
    page.fill("input[name=username]", tariff_and_cashier["username"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/tariffs")
    assert page.locator("nav.mainnav a", has_text="Tariffs").count() == 1
    page.screenshot(path=str(output_dir / "e2e-tariff-book.png"), full_page=True)
    page.click(f"[data-testid=tariff-book] a[href='/tariffs/{CODE}']")
    page.wait_for_url(f"{live_url}/tariffs/{CODE}")
    assert page.locator("[data-testid=blocks] tbody tr").count() == 3

    page.fill("[data-testid=kwh-total]", "151")
    page.fill("[data-testid=start]", "2025-01-01")
    page.fill("[data-testid=end]", "2025-02-01")
    page.fill("[data-testid=category]", "residential")
    page.click("[data-testid=simulate]")
    page.wait_for_url(f"{live_url}/tariffs/{CODE}?*")
    assert page.input_value("[data-testid=kwh-total]") == "151"

    rows = page.locator("[data-testid=bill-lines] tbody tr")
    amounts = [
        (rows.nth(i).get_attribute("data-component"), rows.nth(i).get_attribute("data-amount"))
        for i in range(rows.count())
    ]
    assert amounts == [
        ("prime-fixe", "400"),
        ("energie", "16459"),
        ("redevance-eclairage", "100"),
        ("tva", "3035"),
        ("rounding", "1"),
    ]
    assert page.inner_text("[data-testid=total]") == format_money(19995, "XOF")

    page.wait_for_selector("canvas[data-testid=bill-chart][data-drawn=true]")
    points = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-testid=bill-chart]'))"
        ".data.datasets[0].data.length"
    )
    assert points > 100
    painted = page.evaluate(
        "() => { const c = document.querySelector('canvas[data-testid=bill-chart]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )
    assert painted > 1000
    page.locator("#calculator").scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "e2e-tariff-calculator.png"), full_page=True)
    context.close()
    assert errors == []
    assert offsite == []  # every asset came from Kilowatch itself
