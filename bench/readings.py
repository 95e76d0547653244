"""Benchmark: import and validate N meter reads end to end, then import them again.

    python bench/readings.py [--scale N]   (default 5,000,000 reads)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster), migrates it, creates usage points, meters and installations set-based, writes a
CSV of monthly reads (24 per meter by default, with natural rollovers and a few injected
impossible, backwards and zero reads), imports it through the bulk path
(``meters.readings.importer``), times the floor (one raw COPY of the same CSV into a typed
table) and prints the ratio, imports it again to show idempotency, drops the database and
prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DIAL_DIGITS = 5


def _database() -> tuple[str, Callable[[], None]]:
    """A fresh database on KILOWATCH_DATABASE_URL's server (or the embedded cluster)."""
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database("kw_bench_readings", os.environ.get("KILOWATCH_DATABASE_URL"))
    return scratch.url, scratch.drop


def _fixtures(session, meters: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """Premises, usage points, meters, registers and installations, set-based."""
    from sqlalchemy import text

    from core.audit import declare_bulk_job

    declare_bulk_job(session, "bench-readings-fixtures")
    session.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    session.execute(
        text(
            "INSERT INTO customer_service_location (code, address_line) "
            "SELECT 'SL' || g, 'Bench street ' || g FROM generate_series(1, :n) g"
        ),
        {"n": meters},
    )
    session.execute(
        text(
            "INSERT INTO customer_usage_point (code, service_location_id, category, "
            "subscribed_power_kva) SELECT 'UP' || sl.id, sl.id, CASE WHEN sl.id % 20 = 0 "
            "THEN 'commercial' ELSE 'residential' END, 6 FROM customer_service_location sl"
        )
    )
    session.execute(
        text(
            "INSERT INTO meter_asset (serial, make, model, meter_type, dial_digits, status) "
            "SELECT 'BM' || lpad(g::text, 9, '0'), 'Bench', 'B5', 'postpaid', :d, 'installed' "
            "FROM generate_series(1, :n) g"
        ),
        {"n": meters, "d": DIAL_DIGITS},
    )
    session.execute(
        text("INSERT INTO meter_register (meter_id, code) SELECT id, 'total' FROM meter_asset")
    )
    # Start indexes are the values the CSV generator uses for month 0 (seeded the same way).
    session.execute(
        text(
            "INSERT INTO meter_installation (meter_id, usage_point_id, installed_at, start_indexes) "
            "SELECT m.id, up.id, '2023-01-01T00:00:00Z', "
            "jsonb_build_object('total', s.start_index::text) "
            "FROM meter_asset m JOIN customer_usage_point up ON up.code = 'UP' || m.id "
            "JOIN bench_start s ON s.serial = m.serial"
        )
    )


def _generate(meters: int, reads_per_meter: int, seed: int) -> tuple[object, np.ndarray]:
    """Monthly cumulative indexes per meter (rolling over at 10^digits), a few anomalies."""
    rng = np.random.default_rng(seed)
    capacity = 10**DIAL_DIGITS
    start = rng.integers(0, capacity, meters)
    daily = rng.gamma(2.0, 3.0, meters)  # kWh/day, residential-like
    monthly = rng.poisson(np.outer(daily * 30.0, np.ones(reads_per_meter)))
    cumulative = start[:, None] + np.cumsum(monthly, axis=1)
    values = (cumulative % capacity).astype(np.int64)
    n = values.size
    # Injected anomalies (0.1% each): a read stuck at its previous value, a backwards read.
    flat = values.reshape(-1)
    pick = rng.choice(n, size=max(n // 1000, 1), replace=False)
    prev = np.where(pick % reads_per_meter == 0, start[pick // reads_per_meter], flat[pick - 1])
    flat[pick] = prev
    pick = rng.choice(n, size=max(n // 1000, 1), replace=False)
    flat[pick] = (flat[pick] - 5000) % capacity
    return values, start


def _write_csv(path: Path, meters: int, reads_per_meter: int, values: np.ndarray, seed: int) -> int:
    import pandas as pd

    rng = np.random.default_rng(seed + 1)
    months = pd.date_range("2023-01-31T08:00:00Z", periods=reads_per_meter, freq="ME")
    stamps = np.array([m.strftime("%Y-%m-%dT%H:%M:%SZ") for m in months])
    serials = np.char.add("BM", np.char.zfill(np.arange(1, meters + 1).astype(str), 9))
    read_at = np.tile(stamps, meters).astype(object)
    # 0.05% of reads stamped a few hours ahead of the clock: stored, rejected read_in_future
    # (a date beyond a day ahead would refuse the whole file, as any bad line does).
    future = rng.choice(values.size, size=max(values.size // 2000, 1), replace=False)
    ahead = datetime.now(UTC) + timedelta(hours=6)
    read_at[future] = [
        (ahead + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(len(future))
    ]
    frame = pd.DataFrame(
        {
            "serial": np.repeat(serials, reads_per_meter),
            "read_at": read_at,
            "value": values.reshape(-1),
            "source": pd.Categorical(np.where(rng.random(values.size) < 0.7, "ami", "handheld")),
        }
    )
    frame.to_csv(path, index=False)
    return path.stat().st_size


def _floor_copy(url: str, csv_path: Path) -> float:
    """The plainest way to put the same rows in PostgreSQL: one text COPY of the CSV into a
    typed table (no resolving, judging, partitions or duplicates). Seconds it took."""
    from sqlalchemy import text

    from core import db as core_db

    columns = csv_path.open().readline().strip().split(",")
    types = {"read_at": "timestamptz", "value": "numeric"}
    ddl = ", ".join(f"{c} {types.get(c, 'text')}" for c in columns)
    started = time.perf_counter()
    with core_db.session_scope(url) as session:
        session.execute(text(f"CREATE TABLE bench_floor ({ddl})"))
        conn = session.connection().connection.driver_connection
        sql = "COPY bench_floor FROM STDIN (FORMAT csv, HEADER true)"
        with conn.cursor() as cur, cur.copy(sql) as copy, csv_path.open("rb") as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5_000_000, help="Reads to import")
    parser.add_argument("--reads-per-meter", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from core import db as core_db
    from core.migrate import upgrade
    from core.scratch_db import use_database

    meters = max(args.scale // args.reads_per_meter, 1)
    rows = meters * args.reads_per_meter
    url, drop = _database()
    use_database(url)
    try:
        upgrade(url)
        from kilowatch.bootstrap import bootstrap
        from meters.readings.importer import import_readings_from_csv

        bootstrap()
        values, start = _generate(meters, args.reads_per_meter, args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "reads.csv"
            csv_bytes = _write_csv(csv_path, meters, args.reads_per_meter, values, args.seed)
            with core_db.session_scope(url) as session:
                from sqlalchemy import text

                session.execute(
                    text("CREATE TEMP TABLE bench_start (serial text, start_index bigint)")
                )
                cursor_conn = session.connection().connection.driver_connection
                with cursor_conn.cursor() as cur, cur.copy("COPY bench_start FROM STDIN") as copy:
                    for i, s in enumerate(start, start=1):
                        copy.write_row((f"BM{i:09d}", int(s)))
                _fixtures(session, meters, args.seed)
            print(
                f"fixtures ready: {meters} meters, {rows} reads, CSV {csv_bytes / 1e6:.1f} MB",
                file=sys.stderr,
            )

            started = time.perf_counter()
            with core_db.session_scope(url) as session:
                first = import_readings_from_csv(session, csv_path)
            first_seconds = time.perf_counter() - started
            print(f"first import: {first}", file=sys.stderr)

            floor_seconds = _floor_copy(url, csv_path)
            print(f"floor (raw COPY of the CSV): {floor_seconds:.2f} s", file=sys.stderr)

            started = time.perf_counter()
            with core_db.session_scope(url) as session:
                second = import_readings_from_csv(session, csv_path)
            second_seconds = time.perf_counter() - started
            print(f"second import: {second}", file=sys.stderr)
    finally:
        core_db.get_engine(url).dispose()
        drop()
    print(
        json.dumps(
            {
                "benchmark": "readings_import",
                "rows": rows,
                "meters": meters,
                "csv_bytes": csv_bytes,
                "first_import_seconds": round(first_seconds, 2),
                "readings_per_second": round(rows / first_seconds),
                "target_readings_per_second": 250_000,
                "first_import_new": first.new,
                "accepted": first.accepted,
                "flagged": first.flagged,
                "rejected": first.rejected,
                "codes_by_status": first.codes_by_status,
                "first_import_step_seconds": first.timings,
                "floor_raw_copy_seconds": round(floor_seconds, 2),
                "first_import_to_floor_ratio": round(first_seconds / floor_seconds, 2),
                "second_import_seconds": round(second_seconds, 2),
                "second_import_step_seconds": second.timings,
                "second_import_new": second.new,
                "duplicates_on_second_import": second.duplicates,
                "cpu_count": os.cpu_count(),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
