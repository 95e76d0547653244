"""A technician opens the network map in a real browser on a generated network: tiles render,
a code search zooms to the asset, a trace is highlighted with the right counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.auth.models import User
from core.auth.service import create_user
from core.db import session_scope
from gis.generator import delete_generated_network, generate_network

pytestmark = pytest.mark.e2e
PASSWORD = "browser-pass-456"
SEED = 9301


@pytest.fixture()
def network_user(live_url: str) -> object:
    with session_scope() as session:
        generate_network(session, service_points=1500, seed=SEED)
        user = create_user(session, username="e2e.netmap", password=PASSWORD, roles=["technician"])
        user_id = user.id
    yield "e2e.netmap"
    with session_scope() as session:
        session.delete(session.get(User, user_id))
        delete_generated_network(session, seed=SEED)


def _rendered_features(page, layer: str) -> int:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "(name) => Object.values(window.KW_NETWORK_MAP.tileLayers[name]._vectorTiles)"
        ".reduce((n, tile) => n + Object.keys(tile._features || {}).length, 0)",
        layer,
    )


def _count(sql: str) -> int:
    with session_scope() as session:
        return int(session.execute(text(sql)).scalar_one())


def test_network_map_tiles_search_and_trace(
    browser, live_url: str, network_user: str, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else offsite.append(r.url))
    tiles: list[tuple[str, int]] = []
    page.on("response", lambda r: tiles.append((r.url, r.status)) if ".mvt" in r.url else None)

    page.goto(f"{live_url}/map/network")
    page.fill("input[name=username]", network_user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/map/network")
    assert page.locator("nav.mainnav a", has_text="Network").count() == 1

    # Tiles load and features render (the generated town lies at the default map centre);
    # each layer counted only once its own tiles have loaded (they arrive in any order).
    page.wait_for_function(
        "() => window.KW_NETWORK_MAP && document.body.dataset.tiles_service_points === 'loaded'"
        " && document.body.dataset.tiles_lines === 'loaded'"
        " && document.body.dataset.tiles_transformers === 'loaded'"
    )
    assert _rendered_features(page, "service_points") > 100
    assert _rendered_features(page, "lines") > 100
    assert _rendered_features(page, "transformers") > 5
    assert tiles and all(status == 200 for _url, status in tiles)
    page.wait_for_selector("[data-testid=feeders-in-view] li")
    assert f"GEN-{SEED}-F001" in page.inner_text("[data-testid=feeders-in-view]")
    page.screenshot(path=str(output_dir / "e2e-network-map.png"))

    # Search a transformer by code: the map zooms to it and shows its details.
    code = f"GEN-{SEED}-T00003"
    page.fill("[data-testid=network-search]", code)
    page.wait_for_selector("[data-testid=search-results] li")
    assert code in page.inner_text("[data-testid=search-results]")
    page.press("[data-testid=network-search]", "Enter")
    popup = page.wait_for_selector("[data-testid=asset-popup]")
    assert code in popup.inner_text()
    assert "Rating (kVA)" in popup.inner_text()
    assert page.evaluate("() => window.KW_NETWORK_MAP.map.getZoom()") >= 18

    # Trace downstream from it: the highlighted LV zone has its exact size.
    page.click("[data-testid=asset-popup] button:has-text('Trace downstream')")
    page.wait_for_selector("[data-testid=trace-summary]:not([hidden])")
    expected = _count(
        "SELECT count(*) FROM gis_service_point sp JOIN gis_power_transformer t "
        f"ON t.id = sp.transformer_id WHERE t.code = '{code}'"
    )
    assert page.inner_text("[data-testid=trace-service-points]") == f"{expected:,}"

    # And a whole feeder: its trace is highlighted and counted.
    feeder = f"GEN-{SEED}-F001"
    page.fill("[data-testid=network-search]", feeder)
    page.press("[data-testid=network-search]", "Enter")
    page.wait_for_selector(f"[data-testid=asset-popup] >> text={feeder}")
    page.click("[data-testid=asset-popup] button:has-text('Trace downstream')")
    page.wait_for_function(
        "(code) => document.querySelector('[data-testid=trace-summary]').innerText.includes(code)",
        arg=feeder,
    )
    feeder_points = _count(
        "SELECT count(*) FROM gis_service_point sp JOIN gis_feeder f ON f.id = sp.feeder_id "
        f"WHERE f.code = '{feeder}'"
    )
    assert page.inner_text("[data-testid=trace-service-points]") == f"{feeder_points:,}"
    page.wait_for_timeout(800)  # let the re-fitted view's tiles draw
    page.screenshot(path=str(output_dir / "e2e-network-map-trace.png"))
    context.close()
    assert offsite == []  # every asset came from Kilowatch itself
