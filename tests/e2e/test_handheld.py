"""A reader's day on the handheld, in headless Chromium with a phone's screen and a fixed
GPS position: sign in, download the round, lose the network, reload the app with no
network at all, read meters (one read of zero confirmed on the spot) with camera photos,
get the network back; every record reaches the server once, with its photo, and the app
shows them applied."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.settings import get_settings
from tests.e2e.handheld_support import (
    PHONE,
    CountingApp,
    camera_png,
    requests_since,
    wait_for_service_worker,
)

pytestmark = pytest.mark.e2e
POINTS = 4
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]  # the test runs on any day of the week


def _sync_wired() -> str | None:
    """Why the round trip cannot run on this tree (None: it can)."""
    try:
        from kilowatch.app import build_app
        from mobile_sync import pull
    except ImportError as exc:
        return f"the sync server is missing ({exc})"
    if not {"/api/v1/sync/pull", "/api/v1/sync/push"} <= set(build_app().openapi()["paths"]):
        return "the sync endpoints (h-sync) are not mounted"
    if not pull._source:  # the wiring is the point
        return "field is not wired into mobile_sync (no pull source: mobile_sync.field_kinds)"
    return None


@pytest.fixture()
def attachments_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "attachments"
    monkeypatch.setattr(get_settings(), "sync_attachments_dir", folder)
    return folder


@pytest.fixture()
def reader_round(counted_server: tuple[str, CountingApp]) -> Iterator[dict]:
    """A technician with a round of POINTS metered usage points assigned to them,
    committed (the live server reads it)."""
    reason = _sync_wired()
    if reason:
        pytest.skip(f"waits for the sync server: {reason}")
    from field.organisation import create_technician
    from field.rounds import build_round
    from field.schemas import RoundBuild, TechnicianCreate
    from tests.mobile_sync.world import PASSWORD, build_world

    tag = uuid.uuid4().hex[:6].upper()
    with acting_as(SYSTEM, request_id="e2e-handheld"), session_scope() as session:
        world = build_world(session, technicians=2, points=POINTS, tag=tag)
        username = world.technicians[0]
        from core.auth.models import User

        user = session.scalars(select(User).where(User.username == username)).one()
        technician = create_technician(
            session,
            actor=SYSTEM,
            data=TechnicianCreate(
                user_id=user.id,
                code=f"T-{tag}",
                skills=["reading", "sealing"],
                working_days=EVERY_DAY,
            ),
        )
        colleague = session.scalars(select(User).where(User.username == world.technicians[1])).one()
        colleague_id = create_technician(
            session,
            actor=SYSTEM,
            data=TechnicianCreate(
                user_id=colleague.id, code=f"T2-{tag}", skills=["reading"], working_days=EVERY_DAY
            ),
        ).id
        mine = world.points_of[username]  # the colleague's block lies further east
        lons = [p.lon for p in mine]
        lats = [p.lat for p in mine]
        ring = [
            [min(lons) - 0.001, min(lats) - 0.001],
            [max(lons) + 0.001, min(lats) - 0.001],
            [max(lons) + 0.001, max(lats) + 0.001],
            [min(lons) - 0.001, max(lats) + 0.001],
            [min(lons) - 0.001, min(lats) - 0.001],
        ]
        today = datetime.now(UTC).date()
        reading_round = build_round(
            session,
            actor=SYSTEM,
            data=RoundBuild(
                period_start=today.replace(day=1),
                by="polygon",
                polygon={"type": "Polygon", "coordinates": [ring]},
                technician_id=technician.id,
                planned_date=today,
            ),
        )
        round_id = reading_round.id
        technician_id = technician.id
    yield {
        "username": username,
        "password": PASSWORD,
        "round_id": round_id,
        "world": world,
        "points": mine,
        "technician_id": technician_id,
        "colleague_id": colleague_id,
        "tag": tag,
    }


def _sign_in(page, reader_round: dict) -> None:
    """Sign in on the handheld and wait for the round to be downloaded."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.fill("input[name=username]", reader_round["username"])
    page.fill("input[name=password]", reader_round["password"])
    page.click("button[type=submit]")
    try:
        page.wait_for_function(f"document.querySelectorAll('a.item').length === {POINTS}")
    except PlaywrightTimeoutError as exc:
        status = page.inner_text("body")
        raise AssertionError(f"the round did not arrive; the app says: {status}") from exc


def _capture(page, item_id: int, value: str, photo: bytes, *, confirm: bool) -> None:
    page.click(f"a.item[data-item-id='{item_id}']")
    page.fill("label.register input", value)
    page.set_input_files(
        "input[name=photo]",
        files=[{"name": "IMG_0001.png", "mimeType": "image/png", "buffer": photo}],
    )
    page.wait_for_selector("[data-testid=photo-info]")
    page.click("button[data-action=save-reading]")
    if confirm:  # the on-device check asks first
        page.wait_for_selector("button[data-action=confirm]")
        page.click("button[data-action=confirm]")
    page.wait_for_selector("[data-testid=progress]")


def test_a_reader_works_offline_and_every_record_arrives_once_with_its_photo(
    browser,
    counted_server: tuple[str, CountingApp],
    reader_round: dict,
    attachments_dir: Path,
    output_dir: Path,
) -> None:
    from field.models import RoundItem
    from meters.models import Reading
    from mobile_sync.attachments import file_matches
    from mobile_sync.models import SyncAttachment, SyncOperation

    url, server = counted_server
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sign in once, online: the device enrolls and downloads the round.
    page.goto(f"{url}/handheld/")
    _sign_in(page, reader_round)
    wait_for_service_worker(page)
    items = page.eval_on_selector_all("a.item", "els => els.map(e => Number(e.dataset.itemId))")

    # No network from here: the app reloads from its service worker and IndexedDB.
    context.set_offline(True)
    offline_from = server.requests
    page.reload()
    page.wait_for_function(f"document.querySelectorAll('a.item').length === {POINTS}")
    assert page.evaluate("navigator.onLine") is False
    photos = [camera_png(1200, 900), camera_png(900, 1200)]
    # A meter fitted at index 0 and read 0 again: "no consumption", confirmed by the reader.
    _capture(page, items[0], "0", photos[0], confirm=True)
    _capture(page, items[1], "152.5", photos[1], confirm=False)
    page.click(f"a.item[data-item-id='{items[2]}']")
    page.select_option("select[name=skip_code]", "dog")
    page.click("button[data-action=skip]")
    page.wait_for_selector("[data-testid=progress]")
    assert page.inner_text("[data-testid=progress]").startswith("2 read · 1 skipped · 1 pending")
    page.click("a[href='#/outbox']")
    page.wait_for_selector("li.record")
    assert (
        page.eval_on_selector_all("li.record", "els => els.map(e => e.dataset.state)")
        == ["waiting"] * 3
    )
    page.screenshot(path=str(output_dir / "e2e-handheld-outbox-offline.png"), full_page=True)
    assert requests_since(server, offline_from) == []  # offline was offline

    # The network returns: the app syncs on its own (the "online" event).
    context.set_offline(False)
    page.wait_for_function(
        "document.querySelectorAll('li.record[data-state=applied]').length === 3"
        " && document.body.dataset.outbox === '0'",
        timeout=30000,
    )
    page.screenshot(path=str(output_dir / "e2e-handheld-outbox-synced.png"), full_page=True)
    journal = page.evaluate(
        "async () => (await window.kilowatch.db.journalAll())"
        ".map(r => ({uuid: r.uuid, kind: r.kind, photos: r.photos, value: r.data.value,"
        " item: r.data.round_item_id, confirmed: r.data.confirmed_implausible}))"
    )
    device_id = page.evaluate("async () => (await window.kilowatch.db.kv.get('device')).device_id")
    context.close()
    assert errors == []

    # The server holds each record once, with its photo, as the device captured it.
    # The photos on the wire are the device's JPEGs, not the camera's PNGs.
    reads = [r for r in journal if r["kind"] == "reading"]
    (skip,) = [r for r in journal if r["kind"] == "skip"]
    hashes = {r["uuid"]: r["photos"][0] for r in reads}
    assert len(set(hashes.values())) == 2
    assert set(hashes.values()).isdisjoint(hashlib.sha256(p).hexdigest() for p in photos)
    with session_scope() as session:
        operations = session.scalars(
            select(SyncOperation).where(SyncOperation.device_id == device_id)
        ).all()
        assert sorted(str(o.uuid) for o in operations) == sorted([*hashes, skip["uuid"]])
        assert {o.status for o in operations} == {"applied"}
        assert {str(o.uuid): o.photos for o in operations} == {
            **{u: [h] for u, h in hashes.items()},
            skip["uuid"]: [],
        }
        assert {o.gps_accuracy_m for o in operations} == {8.0}  # the phone's fix
        stored = session.scalars(
            select(SyncAttachment).where(SyncAttachment.sha256.in_(hashes.values()))
        ).all()
        assert len(stored) == 2
        assert all(file_matches(a.sha256) and a.device_id == device_id for a in stored)
        read_ids = [o.server_id for o in operations if o.kind == "reading"]
        stored_reads = session.scalars(select(Reading).where(Reading.id.in_(read_ids))).all()
        assert sorted(r.value for r in stored_reads) == [Decimal("0"), Decimal("152.5")]
        assert {r.photo_sha256 for r in stored_reads} == set(hashes.values())
        statuses = dict(
            session.execute(
                select(RoundItem.id, RoundItem.status).where(RoundItem.id.in_(items))
            ).all()
        )
        assert [statuses[i] for i in items] == ["read", "read", "skipped", "pending"]
    assert {r["value"]: r["confirmed"] for r in reads} == {0: True, 152.5: False}


def test_a_photo_the_server_could_not_take_shows_missing_until_it_arrives(
    browser, counted_server: tuple[str, CountingApp], reader_round: dict, attachments_dir: Path
) -> None:
    """The server answers 503 to photo uploads for a while: the read still goes (its
    receipt names the missing photo), the app shows "photo missing", and the photo goes
    on the next sync, after which the record is applied."""
    from mobile_sync.attachments import file_matches
    from mobile_sync.models import SyncAttachment, SyncOperation

    url, _server = counted_server
    # Routing sees the app's requests only without a service worker in between.
    context = browser.new_context(**{**PHONE, "service_workers": "block"})
    refusing = {"on": True}

    def photos(route) -> None:
        if refusing["on"] and route.request.method == "PUT":
            route.fulfill(
                status=503,
                content_type="application/problem+json",
                body='{"title": "busy", "status": 503, "code": "unavailable"}',
            )
        else:
            route.continue_()

    context.route("**/api/v1/sync/attachments/**", photos)
    page = context.new_page()
    page.goto(f"{url}/handheld/")
    _sign_in(page, reader_round)
    first = page.get_attribute("a.item", "data-item-id")
    _capture(page, int(first), "75", camera_png(640, 480), confirm=False)
    page.click("a[href='#/outbox']")
    page.wait_for_selector("li.record[data-state='photo missing']", timeout=30000)
    (record,) = page.evaluate("async () => await window.kilowatch.db.outboxAll()")
    sha256 = record["photos"][0]
    with session_scope() as session:
        operation = session.scalars(
            select(SyncOperation).where(SyncOperation.uuid == uuid.UUID(record["uuid"]))
        ).one()
        assert operation.status == "applied"  # the read is stored, its photo is not
        assert (
            session.scalars(select(SyncAttachment).where(SyncAttachment.sha256 == sha256)).all()
            == []
        )

    refusing["on"] = False
    page.click("button.sync")
    page.wait_for_selector("li.record[data-state=applied]", timeout=30000)
    assert page.evaluate("async () => (await window.kilowatch.db.outboxAll()).length") == 0
    context.close()
    with session_scope() as session:
        (stored,) = session.scalars(select(SyncAttachment).where(SyncAttachment.sha256 == sha256))
        assert file_matches(stored.sha256)
        count = session.scalar(
            select(func.count())
            .select_from(SyncOperation)
            .where(SyncOperation.uuid == uuid.UUID(record["uuid"]))
        )
        assert count == 1


@pytest.fixture()
def final_read_order(reader_round: dict) -> dict:
    """A final-read order on one of the reader's usage points, assigned to them, and two
    seals in their bag."""
    from core.auth.models import Agency
    from field import service as field
    from field.schemas import SealBatchCreate, SealIssue, WorkOrderCreate

    tag, technician_id = reader_round["tag"], reader_round["technician_id"]
    now = datetime.now(UTC)
    with acting_as(SYSTEM, request_id="e2e-handheld"), session_scope() as session:
        agency_id = session.scalars(
            select(Agency.id).where(Agency.code == reader_round["world"].agency_code)
        ).one()
        order = field.create_work_order(
            session,
            actor=SYSTEM,
            data=WorkOrderCreate(
                kind="final_read",
                usage_point_id=reader_round["points"][-1].usage_point_id,
                planned_date=now.date(),
                reason="move-out",
                agency_id=agency_id,
            ),
        )
        field.assign_work_order(
            session, actor=SYSTEM, work_order_id=order.id, technician_id=technician_id
        )
        field.receive_seal_batch(
            session,
            actor=SYSTEM,
            data=SealBatchCreate(
                code=f"B-{tag}",
                kind="plastic",
                prefix=f"S{tag}",
                first_number=1,
                last_number=2,
                digits=3,
                received_at=now,
                agency_id=agency_id,
            ),
        )
        seals = [f"S{tag}001", f"S{tag}002"]
        field.issue_seals(
            session,
            actor=SYSTEM,
            data=SealIssue(technician_id=technician_id, numbers=seals, at=now),
        )
        return {"id": order.id, "number": order.number, "seals": seals}


def test_a_final_read_order_and_a_seal_completed_on_the_handheld(
    browser, counted_server: tuple[str, CountingApp], reader_round: dict, final_read_order: dict
) -> None:
    from field.models import Seal, WorkOrder
    from meters.models import Reading

    url, _server = counted_server
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/handheld/")
    _sign_in(page, reader_round)
    page.click("a[href='#/orders']")
    page.click(f"a.item[data-order-id='{final_read_order['id']}']")
    assert final_read_order["seals"][0] in page.inner_text("section.order")  # in the bag
    page.fill("label.register input", "88")
    page.fill("textarea[name=seals]", final_read_order["seals"][0].lower())
    page.select_option("select[name=seal_event]", "apply")
    page.select_option("select[name=seal_position]", "terminal_cover")
    page.click("button[data-action=save-outcome]")
    if page.locator("button[data-action=confirm]").count():  # outside the expected range
        page.click("button[data-action=confirm]")
    page.wait_for_selector(f"a.item[data-order-id='{final_read_order['id']}']")
    page.click("a[href='#/outbox']")
    page.wait_for_function(
        "document.querySelector('li.record[data-kind=work_order_outcome]')"
        " && document.body.dataset.outbox === '0'",
        timeout=30000,
    )
    (record,) = page.evaluate("async () => await window.kilowatch.db.journalAll()")
    assert (record["state"], record["receipt"].get("code")) == ("applied", None), record
    context.close()
    assert errors == []
    with session_scope() as session:
        order = session.get(WorkOrder, final_read_order["id"])
        assert order.status == "completed"
        (reading,) = session.scalars(
            select(Reading).where(Reading.id.in_(order.outcome["reading_ids"]))
        ).all()
        assert reading.value == Decimal("88")
        seal = session.scalars(
            select(Seal).where(Seal.number == final_read_order["seals"][0])
        ).one()
        assert seal.status == "applied"


def test_a_read_on_a_stop_the_office_took_back_is_kept_as_a_conflict(
    browser, counted_server: tuple[str, CountingApp], reader_round: dict
) -> None:
    """The office gives the round to a colleague while the reader is offline: the reader's
    read is not lost, it waits in the conflict queue, and the app says so."""
    from field import service as field
    from mobile_sync.models import SyncConflict, SyncOperation

    url, _server = counted_server
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{url}/handheld/")
    _sign_in(page, reader_round)
    first = int(page.get_attribute("a.item", "data-item-id"))
    context.set_offline(True)
    with acting_as(SYSTEM, request_id="e2e-handheld"), session_scope() as session:
        field.assign_round(
            session,
            actor=SYSTEM,
            round_id=reader_round["round_id"],
            technician_id=reader_round["colleague_id"],
        )
    _capture(page, first, "152.5", camera_png(320, 240), confirm=False)
    context.set_offline(False)
    page.click("a[href='#/outbox']")
    page.wait_for_selector("li.record[data-state=conflict]", timeout=30000)
    assert "round_item_reassigned" in page.inner_text("li.record[data-state=conflict]")
    # The pull that followed took the stops away from this phone.
    page.click("a[href='#/round']")
    page.wait_for_function("document.querySelectorAll('a.item').length === 0")
    (record,) = page.evaluate("async () => await window.kilowatch.db.journalAll()")
    context.close()
    with session_scope() as session:
        operation = session.scalars(
            select(SyncOperation).where(SyncOperation.uuid == uuid.UUID(record["uuid"]))
        ).one()
        assert (operation.status, operation.code) == ("conflict", "round_item_reassigned")
        conflict = session.scalars(
            select(SyncConflict).where(SyncConflict.operation_id == operation.id)
        ).one()
        assert (conflict.status, conflict.entity_id) == ("open", first)
