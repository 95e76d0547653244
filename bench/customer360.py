"""Customer 360 benchmark: build a demo utility of N customers (24 months of monthly reads,
zone meters, ground truth) with the demo builder, then time GET /api/v1/customers/{id}/360
through the real ASGI app with a real bearer token, over random customers.

    python bench/customer360.py [--scale N] [--requests R]   (default N = 100,000; R = 600)

Builds its own throw-away database (on KILOWATCH_DATABASE_URL's server, else on the
embedded cluster), migrates it and drops it at the end. Progress goes to stderr; the last
line of stdout is ONE JSON object (units in the key names), also saved to
bench/results/customer360.json. Target: p95 < 50 ms at 100,000 customers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.progress import stage_bars

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

console = Console(stderr=True)
SEED = 360
PASSWORD = "bench-customer360-pass"  # noqa: S105 - a throw-away user of a throw-away database


def create_database() -> tuple[str, Callable[[], None]]:
    """A fresh database on KILOWATCH_DATABASE_URL's server (or the embedded cluster)."""
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database("kw_bench_c360", os.environ.get("KILOWATCH_DATABASE_URL"))
    return scratch.url, scratch.drop


def _use_database(url: str) -> None:
    from core.scratch_db import use_database

    use_database(url)


def build(scale: int) -> dict:
    from core.context import SYSTEM, acting_as
    from core.db import session_scope
    from kilowatch.demo_utility.builder import build_demo_utility

    bars, progress = stage_bars(console, 34)

    started = time.perf_counter()
    with bars, acting_as(SYSTEM, request_id="bench"), session_scope() as session:
        report = build_demo_utility(session, customers=scale, seed=SEED, progress=progress)
    return {"report": report, "seconds": time.perf_counter() - started}


def settle() -> float:
    """VACUUM ANALYZE what the build wrote: a utility's database is measured in its steady
    state (hint bits set, visibility map built), not under the autovacuum storm that
    follows a bulk load of millions of rows."""
    from core.db import get_engine

    started = time.perf_counter()
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (
            "meter_reading",
            "meter_installation",
            "meter_asset",
            "customer_party",
            "customer_party_phone",
            "customer_contract",
            "customer_contract_role",
            "customer_contract_transition",
            "customer_account",
            "customer_usage_point",
            "customer_service_location",
            "customer_case",
            "customer_interaction",
        ):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    return time.perf_counter() - started


def measure(requests: int) -> dict:
    from fastapi.testclient import TestClient

    from core.auth.service import authenticate, create_user
    from core.db import session_scope
    from kilowatch.app import build_app
    from kilowatch.bootstrap import bootstrap

    bootstrap()
    with session_scope() as session:
        create_user(session, username="bench.desk", password=PASSWORD, roles=["customer_desk"])
    with session_scope() as session:
        _user, token, _ttl = authenticate(
            session, username="bench.desk", password=PASSWORD, client_address="bench"
        )
        parties = (
            session.execute(
                text(
                    "SELECT c.holder_party_id FROM customer_contract c WHERE c.status = 'active' "
                    "ORDER BY c.holder_party_id"
                )
            )
            .scalars()
            .all()
        )
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(parties, size=min(requests, len(parties)), replace=False).tolist()
    headers = {"Authorization": f"Bearer {token}"}
    timings, sizes, readings = [], [], []
    with TestClient(build_app()) as client:
        for party_id in chosen[:20]:  # warm-up: caches, prepared plans, imports
            client.get(f"/api/v1/customers/{party_id}/360", headers=headers)
        for party_id in chosen:
            started = time.perf_counter()
            response = client.get(f"/api/v1/customers/{party_id}/360", headers=headers)
            timings.append((time.perf_counter() - started) * 1000.0)
            if response.status_code != 200:
                raise SystemExit(f"GET 360 of {party_id}: {response.status_code} {response.text}")
            body = response.json()
            sizes.append(len(response.content))
            readings.append(sum(len(u["readings"]) for u in body["usage_points"]))
    floor = _floor(chosen)
    arr = np.asarray(timings)
    return {
        "floor_p50_ms": round(float(np.percentile(floor, 50)), 2),
        "floor_p95_ms": round(float(np.percentile(floor, 95)), 2),
        "p50_to_floor_ratio": round(float(np.percentile(arr, 50) / np.percentile(floor, 50)), 2),
        "requests": len(timings),
        "latency_p50_ms": round(float(np.percentile(arr, 50)), 2),
        "latency_p95_ms": round(float(np.percentile(arr, 95)), 2),
        "latency_max_ms": round(float(arr.max()), 2),
        "response_mean_bytes": int(np.mean(sizes)),
        "readings_per_response_mean": round(float(np.mean(readings)), 1),
    }


# The plainest way to fetch a customer's data: one statement from the party through its
# contracts and meters to the readings of the window, rows only (no HTTP, no assembly).
FLOOR_SQL = text(
    "SELECT p.id, c.id, r.read_at, r.value FROM customer_party p "
    "JOIN customer_contract_role cr ON cr.party_id = p.id "
    "JOIN customer_contract c ON c.id = cr.contract_id "
    "JOIN meter_installation i ON i.usage_point_id = c.usage_point_id "
    "JOIN meter_register g ON g.meter_id = i.meter_id "
    "JOIN meter_reading r ON r.register_id = g.id AND r.read_at >= now() - interval '25 months' "
    "WHERE p.id = :p"
)


def _floor(chosen: list[int]) -> np.ndarray:
    """Milliseconds of the floor statement for the same customers, in the same run."""
    from core.db import session_scope

    timings = []
    with session_scope() as session:
        for party_id in chosen[:20]:
            session.execute(FLOOR_SQL, {"p": party_id}).all()
        for party_id in chosen:
            started = time.perf_counter()
            session.execute(FLOOR_SQL, {"p": party_id}).all()
            timings.append((time.perf_counter() - started) * 1000.0)
    return np.asarray(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="customers in the demo utility")
    parser.add_argument("--requests", type=int, default=600, help="360 requests timed (>= 500)")
    args = parser.parse_args()
    url, drop = create_database()
    try:
        _use_database(url)
        from core.migrate import upgrade

        console.print(
            f"[bold]customer360 bench[/]: {args.scale:,} customers, database {make_url(url).database}"
        )
        upgrade(url)
        built = build(args.scale)
        report = built["report"]
        console.print(f"built in {built['seconds']:.1f} s: {report.seconds}")
        vacuum_seconds = settle()
        load_before = os.getloadavg()[0]
        figures = measure(args.requests)
        from core.db import session_scope

        with session_scope() as session:
            reading_rows = session.scalar(text("SELECT count(*) FROM meter_reading"))
        result = {
            "benchmark": "customer360",
            "customers": args.scale,
            "service_points": report.counts["service_points"],
            "transformers": report.counts["transformers"],
            "meters": report.counts["meters"],
            "readings_rows": int(reading_rows or 0),
            "build_seconds": round(built["seconds"], 1),
            "build_stage_seconds": report.seconds,
            "vacuum_analyze_seconds": round(vacuum_seconds, 1),
            "load_average_1min_before": round(load_before, 2),
            **figures,
            "target_p95_ms": 50,
            "cpu_count": os.cpu_count(),
        }
    finally:
        from core import db as core_db

        core_db.get_engine.cache_clear()
        drop()
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "customer360.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
