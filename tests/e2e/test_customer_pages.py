"""A customer-desk clerk searches a customer of the demo utility in a real browser, opens
the 360° file and sees the consumption chart drawn and the premises on the map."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.auth.models import User
from core.auth.service import create_user
from core.context import SYSTEM, acting_as
from core.db import session_scope
from kilowatch.demo_utility.builder import build_demo_utility
from kilowatch.demo_utility.removal import delete_demo_utility

pytestmark = pytest.mark.e2e
PASSWORD = "browser-pass-360"
SEED = 9_360


@pytest.fixture()
def demo_customer(live_url: str) -> object:
    """A small committed demo utility, a clerk, and the customer to look for: one whose
    meter ran backwards (so the page lists rejected reads) when there is one."""
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        build_demo_utility(session, customers=120, seed=SEED, service_points=150)
        user = create_user(session, username="e2e.desk", password=PASSWORD, roles=["customer_desk"])
        user_id = user.id
        party_id, name = session.execute(
            text("""
            SELECT c.holder_party_id, p.display_name FROM demo_ground_truth g
            JOIN demo_batch b ON b.id = g.batch_id AND b.seed = :seed
            JOIN customer_contract c ON c.usage_point_id = g.usage_point_id AND c.status = 'active'
            JOIN customer_party p ON p.id = c.holder_party_id
            WHERE g.subject = 'usage_point' AND p.kind = 'person'
            ORDER BY g.attack = 'meter_reversed' DESC NULLS LAST, g.id LIMIT 1
        """),
            {"seed": SEED},
        ).one()
    yield {"username": "e2e.desk", "party_id": party_id, "name": name}
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        session.delete(session.get(User, user_id))
        delete_demo_utility(session, seed=SEED, with_network=True)


def test_clerk_finds_a_customer_and_reads_the_360_file(
    browser, live_url: str, demo_customer: dict, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else offsite.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_url}/customers")
    page.fill("input[name=username]", demo_customer["username"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/customers")
    assert page.locator("nav.mainnav a", has_text="Customers").count() == 1

    page.fill("[data-testid=customer-search]", demo_customer["name"])
    page.press("[data-testid=customer-search]", "Enter")
    link = page.locator(
        f"[data-testid=search-results] a[href='/customers/{demo_customer['party_id']}']"
    )
    link.wait_for()
    link.click()
    page.wait_for_url(f"{live_url}/customers/{demo_customer['party_id']}")

    assert page.inner_text("[data-testid=customer-name]") == demo_customer["name"]
    page.wait_for_selector("canvas[data-testid=consumption-chart][data-drawn=true]")
    bars = page.evaluate(
        "() => { const c = document.querySelector('canvas[data-testid=consumption-chart]');"
        " const chart = Chart.getChart(c); return chart.data.datasets[0].data.length; }"
    )
    assert bars == 24
    # Something was painted on the chart canvas (not a blank bitmap).
    painted = page.evaluate(
        "() => { const c = document.querySelector('canvas[data-testid=consumption-chart]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )
    assert painted > 1000
    page.wait_for_selector("[data-testid=premises-map][data-markers='1'] .leaflet-container")
    assert page.locator("[data-testid=contracts] tbody tr").count() >= 1
    page.screenshot(path=str(output_dir / "e2e-customer-360.png"), full_page=True)

    page.click("[data-testid=usage-point] a[href^='/premises/']")
    page.wait_for_selector("[data-testid=occupants] tbody tr")
    assert demo_customer["name"] in page.inner_text("[data-testid=occupants]")
    page.screenshot(path=str(output_dir / "e2e-premises.png"), full_page=True)
    context.close()
    assert errors == []
    assert offsite == []  # every asset came from Kilowatch itself
