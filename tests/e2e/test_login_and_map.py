"""A technician signs in with a real browser and sees the map, served fully offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.auth.models import User
from core.auth.service import create_user
from core.db import session_scope

pytestmark = pytest.mark.e2e
PASSWORD = "browser-pass-123"


@pytest.fixture()
def technician(live_url: str) -> object:
    with session_scope() as session:
        user = create_user(session, username="e2e.tech", password=PASSWORD, roles=["technician"])
        user_id = user.id
    yield "e2e.tech"
    with session_scope() as session:
        session.delete(session.get(User, user_id))


def test_technician_signs_in_and_sees_the_map(
    browser, live_url: str, technician: str, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else offsite.append(r.url))

    page.goto(f"{live_url}/map")
    assert page.url.startswith(f"{live_url}/login")
    page.fill("input[name=username]", technician)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/map")

    page.wait_for_selector(".leaflet-container .leaflet-control-zoom")
    assert page.inner_text("[data-testid=username]") == technician
    assert page.locator("nav.mainnav a", has_text="Network").count() == 1
    assert page.locator("nav.mainnav a", has_text="Audit trail").count() == 0
    # The Leaflet map object exists and is centred where the settings say.
    centre = page.evaluate(
        "() => { const m = Object.values(window).find(v => v && v._leaflet_id && v.getCenter);"
        " const c = m.getCenter(); return [c.lng, c.lat]; }"
    )
    assert centre == pytest.approx([2.3912, 6.3703], abs=1e-3)
    page.screenshot(path=str(output_dir / "e2e-map.png"))
    context.close()
    assert offsite == []  # every asset came from Kilowatch itself
