"""The handheld app on its own, in headless Chromium with a phone's screen: the shell is
installable (manifest, service worker) and starts with no network at all; the on-device
rules (plausibility, retry delays, receipts) and the IndexedDB outbox behave as documented.
None of this needs the sync endpoints: tests/e2e/test_handheld.py drives the whole round
trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.auth.models import User
from core.auth.service import create_user
from core.db import session_scope
from tests.e2e.handheld_support import PHONE, CountingApp, requests_since, wait_for_service_worker

pytestmark = pytest.mark.e2e
PASSWORD = "handheld-pass-123"


@pytest.fixture()
def phone(browser) -> Iterator[object]:
    context = browser.new_context(**PHONE)
    yield context
    context.close()


def test_the_shell_installs_and_reloads_with_no_network(
    phone, counted_server: tuple[str, CountingApp], output_dir: Path
) -> None:
    url, server = counted_server
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(url) else offsite.append(r.url))

    page.goto(f"{url}/handheld/")
    page.wait_for_selector("form input[name=username]")
    wait_for_service_worker(page)
    manifest = page.evaluate(
        "async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()"
    )
    assert manifest["start_url"] == "/handheld/"
    assert manifest["scope"] == "/handheld/"
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    # Chromium's own verdict: nothing in the app stands in the way of installing it (a
    # browser context of a test is "incognito", where nothing installs).
    cdp = phone.new_cdp_session(page)
    verdict = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    cdp.detach()
    assert [e["errorId"] for e in verdict if e["errorId"] != "in-incognito"] == []

    phone.set_offline(True)
    before = server.requests
    page.reload()
    page.wait_for_selector("form input[name=username]")
    assert page.evaluate("navigator.onLine") is False
    assert page.inner_text("[data-testid=sync-status]").startswith("Offline")
    # A deep link opens the same shell, still offline.
    page.goto(f"{url}/handheld/#/outbox")
    page.wait_for_selector("form input[name=username]")
    # Nothing reached the server: the shell came from the service worker's cache.
    assert requests_since(server, before) == []
    page.screenshot(path=str(output_dir / "e2e-handheld-offline-signin.png"))
    phone.set_offline(False)
    assert errors == []
    assert offsite == []


def test_a_technician_finds_the_handheld_on_the_home_page(phone, live_url: str) -> None:
    with session_scope() as session:
        user = create_user(session, username="e2e.hh", password=PASSWORD, roles=["technician"])
        user_id = user.id
    try:
        page = phone.new_page()
        page.goto(f"{live_url}/login")
        page.fill("input[name=username]", "e2e.hh")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}/")
        page.click("a.card[href='/handheld/']")
        page.wait_for_selector("form input[name=username]")
        assert page.title() == "Kilowatch handheld"
    finally:
        with session_scope() as session:
            session.delete(session.get(User, user_id))


def test_the_on_device_rules(phone, live_url: str) -> None:
    page = phone.new_page()
    page.goto(f"{live_url}/handheld/")
    page.wait_for_selector("form input[name=username]")
    result = page.evaluate("""async () => {
        const l = await import('/static/handheld/logic.js');
        const reg = {previous_value: 1000, expected_min: 1050, expected_max: 1300};
        const kinds = ['1100', '1 100', '', '-5', '0', '1000', '990', '1020', '1400', '1300', '1050,5']
            .map(v => [v, l.checkReading(v, reg).kind, l.checkReading(v, reg).value]);
        const noRange = ['7', '0'].map(v => l.checkReading(v, {}).kind);
        const delays = [0, 1, 2, 3, 10].map(a => [
            l.backoffDelay(a, {random: () => 0}), l.backoffDelay(a, {random: () => 1})]);
        const receipts = [
            {status: 'applied', photos_missing: []}, {status: 'duplicate'},
            {status: 'applied', photos_missing: ['ab']}, {status: 'conflict'},
            {status: 'rejected', code: 'x'}, {status: 'later'}
        ].map(r => { const s = l.settleReceipt(r); return [s.state, s.keep]; });
        return {kinds, noRange, delays, receipts,
            seals: l.parseSealNumbers(' a100, A100;b7\\n\\n c8 '),
            header: l.deviceHeader({device_id: 7, device_secret: 's3'}),
            metres: Math.round(l.distanceM({lon: 2.39, lat: 6.37}, {lon: 2.39, lat: 6.371}))};
    }""")
    # previous 1000, expected 1050..1300: below the previous is "low" (a meter does not run
    # backwards), equal to it or 0 is "zero" (no consumption), outside the range low / high.
    assert result["kinds"] == [
        ["1100", "ok", 1100],
        ["1 100", "invalid", None],
        ["", "invalid", None],
        ["-5", "invalid", None],
        ["0", "zero", 0],
        ["1000", "zero", 1000],
        ["990", "low", 990],
        ["1020", "low", 1020],
        ["1400", "high", 1400],
        ["1300", "ok", 1300],
        ["1050,5", "ok", 1050.5],
    ]
    assert result["noRange"] == ["ok", "zero"]
    # ceiling = min(60000, 1000 * 2^attempt); delay in [ceiling / 2, ceiling].
    assert result["delays"] == [
        [500, 1000],
        [1000, 2000],
        [2000, 4000],
        [4000, 8000],
        [30000, 60000],
    ]
    assert result["receipts"] == [
        ["applied", False],
        ["applied", False],
        ["photo missing", True],
        ["conflict", False],
        ["rejected", False],
        ["waiting", True],
    ]
    assert result["seals"] == ["A100", "B7", "C8"]
    assert result["header"] == "7.s3"
    # 0.001 degree of latitude = 6371008.8 m * pi / 180 / 1000 = 111.2 m
    assert result["metres"] == 111


def test_the_outbox_lets_a_record_go_only_with_its_receipt(phone, live_url: str) -> None:
    page = phone.new_page()
    page.goto(f"{live_url}/handheld/")
    page.wait_for_selector("form input[name=username]")
    result = page.evaluate("""async () => {
        const db = await import('/static/handheld/db.js');
        const l = await import('/static/handheld/logic.js');
        const rec = (uuid, photos) => ({uuid, kind: 'reading', captured_at: uuid,
            created_at: uuid, photos, data: {round_item_id: 1, register_id: 2, value: 5}});
        const blob = new Blob(['jpeg bytes'], {type: 'image/jpeg'});
        await db.addRecords([rec('u1', []), rec('u2', ['h1']), rec('u3', [])],
                            [{sha256: 'h1', blob, size: blob.size}]);
        const states = async () => Object.fromEntries(
            [...(await db.outboxAll()), ...(await db.journalAll())].map(r => [r.uuid, r.state]));
        const step = [];
        await db.markSent(['u1', 'u2', 'u3']);
        step.push(await states());
        // u1 applied; u2 applied but its photo is missing; u3 gets no receipt (connection lost).
        await db.settle('u1', {status: 'applied'}, l.settleReceipt({status: 'applied'}));
        const r2 = {status: 'applied', photos_missing: ['h1']};
        await db.settle('u2', r2, l.settleReceipt(r2));
        step.push(await states());
        step.push((await db.outboxAll()).map(r => r.uuid));
        await db.prunePhotos();
        step.push((await db.photosAll()).map(p => [p.sha256, p.uploaded]));
        await db.photoUploaded('h1');
        step.push(await states());
        step.push((await db.outboxAll()).map(r => r.uuid));
        await db.prunePhotos();
        step.push((await db.photosAll()).length);
        let duplicate = null;
        try { await db.addRecords([rec('u3', [])]); } catch (e) { duplicate = e.name; }
        step.push(duplicate);
        return step;
    }""")
    assert result == [
        {"u1": "sent", "u2": "sent", "u3": "sent"},
        {"u1": "applied", "u2": "photo missing", "u3": "sent"},
        ["u2", "u3"],  # the outbox still holds what has no complete receipt
        [["h1", False]],  # a photo not yet uploaded is never pruned
        {"u1": "applied", "u2": "applied", "u3": "sent"},
        ["u3"],
        0,
        "ConstraintError",  # a record's uuid is captured once
    ]
