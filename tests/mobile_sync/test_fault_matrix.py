"""The fault matrix: simulated handhelds (``mobile_sync.simulator``, real HTTP) against a
real server process (uvicorn on the test database), one device per seed, each with its own
faults: connections dropped before, during and after the commit, batches sent twice and
reordered, records captured on a route the office changed since (stale versions), photos
held back and sent later, device clocks hours or days off; and the server process killed
(SIGKILL) while the devices push, then restarted.

After recovery the server holds exactly each device's records (none lost, none doubled),
every photo matches its hash, every conflict is in the queue.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.auth.scopes import scopes_for
from core.auth.tokens import issue_token
from core.settings import get_settings
from field import service as field_service
from meters.models import Reading
from mobile_sync.models import SyncAttachment, SyncConflict, SyncOperation
from mobile_sync.simulator.device import DeviceSpec
from mobile_sync.simulator.outbox import Outbox
from mobile_sync.simulator.run import simulate
from tests.mobile_sync.world import OFFICE, PASSWORD, FieldWorld, build_world
from tests.support.processes import REPO_ROOT, free_port, wait_for_port

SEEDS = int(os.environ.get("KILOWATCH_FAULT_SEEDS", "20"))
RECORDS = 6
FAULTS_SEED = 7
# Far from the other tests' worlds (Cotonou): this world is committed.
ORIGIN = (3.60, 7.60)


class Server:
    """``uvicorn kilowatch.asgi:app`` in a process of its own, which the test may kill."""

    def __init__(self, database_url: str, attachments: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KILOWATCH_DATABASE_URL": database_url,
            "KILOWATCH_SYNC_ATTACHMENTS_DIR": str(attachments),
            "PYTHONPATH": str(REPO_ROOT),
            # The tokens the test mints must be the server's.
            "KILOWATCH_SECRET_KEY": get_settings().resolved_secret_key(),
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "kilowatch.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=60)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="module")
def world(committed_engine: Engine) -> FieldWorld:
    began = time.perf_counter()
    with Session(committed_engine) as session:
        built = build_world(
            session, technicians=SEEDS, points=3, rounds=True, origin=ORIGIN, tag="FAULTS"
        )
        session.commit()
    print(f"world {time.perf_counter() - began:.1f}s")
    return built


@pytest.fixture(scope="module")
def server(
    committed_database_url: str, world: FieldWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("fault-matrix")
    process = Server(committed_database_url, folder / "attachments", folder / "server.log")
    process.start()
    try:
        yield process
    finally:
        if process.proc is not None:
            process.kill()


def _office_changes(engine: Engine, world: FieldWorld) -> set[str]:
    """After the devices pulled: every fourth technician's round goes to the next one (the
    device holds a stale route). Returns the technicians whose stops were taken away."""
    moved = set()
    with Session(engine) as session:
        for k in range(0, SEEDS, 4):
            me, next_one = world.technicians[k], world.technicians[k + 1]
            field_service.assign_round(
                session,
                actor=OFFICE,
                round_id=world.round_of[me],
                technician_id=world.technician_id[next_one],
            )
            moved.add(me)
        session.commit()
    return moved


def _kill(server: Server, stop: threading.Event) -> None:
    """Kill the server while the devices push, and restart it."""
    for pause in (1.0,):
        if stop.wait(pause):
            return
        server.kill()
        time.sleep(0.3)
        server.start()


def test_fault_matrix(
    committed_engine: Engine, world: FieldWorld, server: Server, tmp_path: Path
) -> None:
    engine = committed_engine
    # Tokens minted here: signing in twenty users costs twenty Argon2 hashes (the
    # simulator signs in with a password when it has no token).
    scopes = scopes_for(["technician"])
    specs = [
        DeviceSpec(
            i,
            name,
            PASSWORD,
            token=issue_token(
                user_id=world.user_id[name], username=name, scopes=scopes, agency_id=None
            )[0],
        )
        for i, name in enumerate(world.technicians)
    ]
    state = tmp_path / "handhelds"
    common: dict[str, Any] = dict(
        url=server.url,
        specs=specs,
        records=RECORDS,
        state_dir=state,
        faults_seed=FAULTS_SEED,
        batch_size=5,
        concurrency=SEEDS,
        deadline_s=60,
    )
    began = time.perf_counter()
    captured = simulate(phase="capture", **common)
    print(f"capture {time.perf_counter() - began:.1f}s")
    assert captured["records_created"] == SEEDS * RECORDS
    moved = _office_changes(engine, world)
    stop = threading.Event()
    killer = threading.Thread(target=_kill, args=(server, stop))
    killer.start()
    try:
        report = simulate(phase="sync", **common)
    finally:
        stop.set()
        killer.join()
    print(f"sync {time.perf_counter() - began:.1f}s", report["faults"], report["receipts"])
    assert report["retries"] > 0  # the faults and the kills did bite
    injected = dict(report["faults"])
    for fault, count in captured["faults"].items():  # a clock is wrong from the start
        injected[fault] = injected.get(fault, 0) + count
    for fault in (
        "drop_before",
        "drop_during",
        "drop_after",
        "duplicate",
        "photo_held",
        "wrong_clock",
        "stale_route_version",
        "reordered",
    ):
        assert injected.get(fault, 0) > 0, (fault, injected)

    attachments_dir = Path(server.env["KILOWATCH_SYNC_ATTACHMENTS_DIR"])
    with Session(engine) as session:
        for spec in specs:
            _check_device(session, spec, state, attachments_dir, world, moved)


def _check_device(
    session: Session,
    spec: DeviceSpec,
    state: Path,
    attachments_dir: Path,
    world: FieldWorld,
    moved: set[str],
) -> None:
    outbox = Outbox(state / f"device-{spec.index:05d}.sqlite")
    try:
        created = {r["uuid"]: r for r in outbox.created()}
        receipts = outbox.receipts()
        photos = outbox.db.execute("SELECT sha256, stored FROM photos").fetchall()
        device_id = int(str(outbox.get("device")).split(".")[0])
        assert outbox.count("outbox") == 0, f"seed {spec.index}: records left unsent"
    finally:
        outbox.close()
    assert len(created) == RECORDS
    assert set(receipts) == set(created), f"seed {spec.index}: a record without its receipt"
    ops = {
        str(op.uuid): op
        for op in session.scalars(select(SyncOperation).where(SyncOperation.device_id == device_id))
    }
    # None lost, none doubled: the server holds exactly the device's records, once each.
    assert set(ops) == set(created), f"seed {spec.index}"
    for uuid_, receipt in receipts.items():
        final = receipt["original"] if receipt["status"] == "duplicate" else receipt
        assert final["status"] == ops[uuid_].status, (spec.index, receipt, ops[uuid_].status)
    applied_reads = {
        op.server_id for op in ops.values() if op.kind == "reading" and op.status == "applied"
    }
    assert None not in applied_reads
    user_id = next(iter(ops.values())).user_id
    reads = set(session.scalars(select(Reading.id).where(Reading.reader_id == user_id)))
    assert reads == applied_reads, f"seed {spec.index}: reads stored != reads receipted"
    # Every conflict is in the queue; the devices whose stops moved met them.
    conflicted = {op.id for op in ops.values() if op.status == "conflict"}
    queued = set(
        session.scalars(
            select(SyncConflict.operation_id).where(
                SyncConflict.operation_id.in_(conflicted or {0})
            )
        )
    )
    assert queued == conflicted
    if world.technicians[spec.index] in moved:
        assert conflicted, f"seed {spec.index}: its stops were re-assigned, yet no conflict"
    # Every photo arrived and matches its hash.
    assert all(stored == 1 for _sha, stored in photos), f"seed {spec.index}: photo unsent"
    hashes = {sha for sha, _ in photos}
    have = set(
        session.scalars(
            select(SyncAttachment.sha256).where(SyncAttachment.sha256.in_(hashes or {""}))
        )
    )
    assert have == hashes
    for sha in hashes:
        path = attachments_dir / sha[:2] / sha
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert (
        session.scalar(
            select(func.count())
            .select_from(SyncOperation)
            .where(SyncOperation.device_id == device_id)
        )
        == RECORDS
    )
