"""Benchmark: N handhelds x 500 reads pushed over HTTP to a real server process, beside the
same reads through the bulk importer; and the pull of a 500-stop round.

    python bench/sync.py [--scale N] [--records M] [--batch B] [--concurrency C]

N devices (default 200, the issue's size), each carried by its own technician and reading
the 10 registers given to it, M reads each (default 500) in batches of B (default 50),
C devices at once (default 16), by ``kilowatch handheld simulate``'s engine
(``mobile_sync.simulator``: real httpx clients with their SQLite outboxes, no faults, no
photos) against ``uvicorn kilowatch.asgi:app`` in a process of its own. Reported: total
time, reads per second, per-batch p50/p99 (target p99 < 50 ms), and the pull p95 of a
500-stop round (target < 100 ms, 30 pulls from scratch). Floor, same run: the same number
of reads on a twin set of meters through the bulk importer (``meters.readings.importer``,
one job in one transaction), and the ratio. Builds a throw-away database (on
KILOWATCH_DATABASE_URL's server, else the embedded cluster), drops it at the end, and prints
one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
REGISTERS_PER_DEVICE = 10
ROUND_STOPS = 500
PULLS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"the server did not listen on {port}")


def _meters(session, prefix: str, count: int, lon0: float) -> None:  # type: ignore[no-untyped-def]
    """``count`` premises (points ~11 m apart), usage points, fitted meters (one register
    each, start index 0), set-based; codes and serials start with ``prefix``."""
    from sqlalchemy import text

    session.execute(
        text(
            "INSERT INTO customer_service_location (code, address_line, geom) "
            "SELECT :p || 'SL' || g, 'Bench street ' || g, ST_SetSRID(ST_MakePoint("
            ":lon + (g % 100) * 0.0001, 6.36 + (g / 100) * 0.0001), 4326) "
            "FROM generate_series(1, :n) g"
        ),
        {"p": prefix, "n": count, "lon": lon0},
    )
    session.execute(
        text(
            "INSERT INTO customer_usage_point (code, service_location_id, category, "
            "subscribed_power_kva) SELECT :p || 'UP' || sl.id, sl.id, 'residential', 6 "
            "FROM customer_service_location sl WHERE sl.code LIKE :p || 'SL%'"
        ),
        {"p": prefix},
    )
    session.execute(
        text(
            "INSERT INTO meter_asset (serial, meter_type, dial_digits, status) "
            "SELECT :p || 'M' || lpad(g::text, 8, '0'), 'postpaid', 8, 'installed' "
            "FROM generate_series(1, :n) g"
        ),
        {"p": prefix, "n": count},
    )
    session.execute(
        text(
            "INSERT INTO meter_register (meter_id, code) SELECT id, 'total' FROM meter_asset "
            "WHERE serial LIKE :p || 'M%'"
        ),
        {"p": prefix},
    )
    session.execute(
        text(
            "INSERT INTO meter_installation (meter_id, usage_point_id, installed_at, "
            "start_indexes) SELECT m.id, up.id, '2025-01-01T00:00:00Z', '{\"total\": \"0\"}' "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) n FROM meter_asset "
            "      WHERE serial LIKE :p || 'M%') m "
            "JOIN (SELECT id, row_number() OVER (ORDER BY id) n FROM customer_usage_point "
            "      WHERE code LIKE :p || 'UP%') up ON up.n = m.n"
        ),
        {"p": prefix},
    )


def _registers(session, prefix: str) -> list[int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    return list(
        session.scalars(
            text(
                "SELECT r.id FROM meter_register r JOIN meter_asset m ON m.id = r.meter_id "
                "WHERE m.serial LIKE :p || 'M%' ORDER BY m.serial"
            ),
            {"p": prefix},
        )
    )


def _fixtures(session, devices: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Technicians (one password hash for all), the sync and floor meters, and a
    500-stop round for one more technician."""
    from sqlalchemy import text

    from core.audit import declare_bulk_job
    from core.auth.passwords import hash_password

    declare_bulk_job(session, "bench-sync-fixtures")
    session.execute(
        text(
            "INSERT INTO core_user (username, password_hash, roles) "
            "SELECT 'bench-tech-' || g, :h, ARRAY['technician'] FROM generate_series(0, :n) g"
        ),
        {"h": hash_password("bench-password-0"), "n": devices},
    )
    count = devices * REGISTERS_PER_DEVICE
    _meters(session, "S", count, 2.40)
    _meters(session, "F", count, 2.45)
    _meters(session, "R", ROUND_STOPS, 2.50)
    session.execute(text("SELECT set_config('kilowatch.audit_bulk', '', true)"))
    users = dict(
        session.execute(
            text("SELECT username, id FROM core_user WHERE username LIKE 'bench-%'")
        ).all()
    )
    return {"users": users, "sync": _registers(session, "S"), "floor": _registers(session, "F")}


def _round(session, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """A 500-stop round (ordered by code: the pull is measured here, not OR-Tools)."""
    from core.context import Actor
    from field import service as field_service
    from field.schemas import RoundBuild, TechnicianCreate

    office = Actor(None, "bench-office", frozenset({"field:read", "field:write"}))
    technician = field_service.create_technician(
        session, actor=office, data=TechnicianCreate(user_id=user_id, code="BENCH-ROUND")
    )
    ring = [
        [2.4999, 6.3599],
        [2.5101, 6.3599],
        [2.5101, 6.3651],
        [2.4999, 6.3651],
        [2.4999, 6.3599],
    ]
    field_service.build_round(
        session,
        actor=office,
        data=RoundBuild(
            period_start=datetime.now(UTC).date().replace(day=1),
            by="polygon",
            polygon={"type": "Polygon", "coordinates": [ring]},
            technician_id=technician.id,
            ordering="code",
        ),
    )


def _token(user_id: int, username: str) -> str:
    from core.auth.scopes import scopes_for
    from core.auth.tokens import issue_token

    return issue_token(
        user_id=user_id, username=username, scopes=scopes_for(["technician"]), agency_id=None
    )[0]


def _pull_p95(url: str, token: str) -> tuple[float, int]:
    import httpx

    from mobile_sync.simulator.run import percentile

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=60) as http:
        enrolled = http.post(
            "/api/v1/sync/devices",
            headers=headers,
            json={"device_uuid": "bench-round-phone", "label": "bench"},
        ).json()
        headers["X-Kilowatch-Device"] = f"{enrolled['device_id']}.{enrolled['device_secret']}"
        times, items = [], 0
        for _ in range(PULLS):
            began = time.perf_counter()
            page = http.get("/api/v1/sync/pull", headers=headers, params={"limit": 500}).json()
            times.append((time.perf_counter() - began) * 1000)
            items = len(page["changes"])
    return float(percentile(times, 95) or 0.0), items


def _floor(url: str, registers: list[int], records: int, devices: int) -> float:
    """The same reads (count, spacing, values) through the bulk importer, one job."""
    from sqlalchemy import text

    from core import db as core_db
    from meters.readings.importer import import_readings_from_rows

    with core_db.session_scope(url) as session:
        serials = dict(
            session.execute(
                text(
                    "SELECT r.id, m.serial FROM meter_register r JOIN meter_asset m "
                    "ON m.id = r.meter_id WHERE r.id = ANY(:ids)"
                ),
                {"ids": registers},
            ).all()
        )
    start = datetime.now(UTC) - timedelta(minutes=records + 5)
    rows = []
    for d in range(devices):
        mine = registers[d * REGISTERS_PER_DEVICE : (d + 1) * REGISTERS_PER_DEVICE]
        for n in range(records):
            rows.append(
                {
                    "serial": serials[mine[n % len(mine)]],
                    "register": "total",
                    "read_at": (start + timedelta(minutes=n, seconds=d % 60)).isoformat(),
                    "value": str(10 * (n + 1)),
                    "source": "handheld",
                }
            )
    began = time.perf_counter()
    with core_db.session_scope(url) as session:
        import_readings_from_rows(session, rows, job_key="bench-sync-floor")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=200, help="Devices")
    parser.add_argument("--records", type=int, default=500, help="Reads per device")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    from core import db as core_db
    from core.migrate import upgrade
    from core.scratch_db import create_scratch_database, use_database
    from core.settings import get_settings

    scratch = create_scratch_database("kw_bench_sync", os.environ.get("KILOWATCH_DATABASE_URL"))
    url = scratch.url
    use_database(url)
    server = None
    try:
        upgrade(url)
        from kilowatch.bootstrap import bootstrap
        from meters.readings.partitions import ensure_reading_partitions
        from mobile_sync.simulator.device import DeviceSpec
        from mobile_sync.simulator.run import simulate

        bootstrap()
        with core_db.session_scope(url) as session:
            made = _fixtures(session, args.scale)
            users: dict[str, int] = made["users"]  # type: ignore[assignment]
            _round(session, users["bench-tech-0"])
            now = datetime.now(UTC)
            ensure_reading_partitions(session, [now - timedelta(days=2), now])
        print("fixtures ready", file=sys.stderr)
        tmp = Path(tempfile.mkdtemp(prefix="kw-bench-sync-"))
        port = _free_port()
        env = {
            **os.environ,
            "KILOWATCH_DATABASE_URL": url,
            "KILOWATCH_SYNC_ATTACHMENTS_DIR": str(tmp / "attachments"),
            "KILOWATCH_SECRET_KEY": get_settings().resolved_secret_key(),
            "PYTHONPATH": str(REPO),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "kilowatch.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(port)
        base = f"http://127.0.0.1:{port}"
        pull_p95, pulled = _pull_p95(base, _token(users["bench-tech-0"], "bench-tech-0"))
        print(f"pull p95 {pull_p95:.1f} ms ({pulled} stops)", file=sys.stderr)
        registers: list[int] = made["sync"]  # type: ignore[assignment]
        specs = [
            DeviceSpec(
                index=d,
                username=f"bench-tech-{d + 1}",
                password="",
                registers=registers[d * REGISTERS_PER_DEVICE : (d + 1) * REGISTERS_PER_DEVICE],
                token=_token(users[f"bench-tech-{d + 1}"], f"bench-tech-{d + 1}"),
            )
            for d in range(args.scale)
        ]
        report = simulate(
            url=base,
            specs=specs,
            records=args.records,
            state_dir=tmp / "handhelds",
            batch_size=args.batch,
            concurrency=args.concurrency,
            photo_every=0,
            deadline_s=600,
        )
        reads = args.scale * args.records
        floor_s = _floor(url, made["floor"], args.records, args.scale)  # type: ignore[arg-type]
        result = {
            "benchmark": "sync",
            "devices": args.scale,
            "reads_per_device": args.records,
            "reads": reads,
            "batch_size": args.batch,
            "concurrency": args.concurrency,
            "sync_seconds": report["seconds"],
            "reads_per_second": round(reads / report["seconds"], 1),
            "batch_ms_p50": _r(report["batch_ms_p50"]),
            "batch_ms_p99": _r(report["batch_ms_p99"]),
            "batch_p99_target_ms": 50,
            "pull_round_stops": pulled,
            "pull_ms_p95": round(pull_p95, 1),
            "pull_p95_target_ms": 100,
            "receipts": report["receipts"],
            "floor": "the same reads through the bulk importer (one job, one transaction)",
            "floor_seconds": round(floor_s, 3),
            "floor_reads_per_second": round(reads / floor_s, 1),
            "ratio_sync_to_floor": round(report["seconds"] / floor_s, 2),
            "cores": os.cpu_count(),
        }
        print(json.dumps(result))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        core_db.get_engine(url).dispose()
        scratch.drop()


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


if __name__ == "__main__":
    main()
