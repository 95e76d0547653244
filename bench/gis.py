"""GIS benchmark: generate a network, trace feeders, assign service points to their nearest
transformer, and serve service-point vector tiles through the real HTTP app.

    python bench/gis.py [--scale N]   (default N = 1,000,000 service points, N/20 transformers)

Builds its own throw-away database (on KILOWATCH_DATABASE_URL's server, else on the
embedded cluster), migrates it, and drops it at the end. Progress goes to stderr; the last
line of stdout is ONE JSON object with the figures (units in the key names). The JSON is
also saved to bench/results/gis.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import text

from core.progress import stage_bars

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

console = Console(stderr=True)


def create_database() -> tuple[str, Callable[[], None]]:
    """A fresh database on KILOWATCH_DATABASE_URL's server (or the embedded cluster)."""
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database("kw_bench_gis", os.environ.get("KILOWATCH_DATABASE_URL"))
    return scratch.url, scratch.drop


def _use_database(url: str) -> None:
    from core.scratch_db import use_database

    use_database(url)


def percentiles(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(arr, 50)), 2),
        "p95": round(float(np.percentile(arr, 95)), 2),
        "max": round(float(arr.max()), 2),
        "n": int(arr.size),
    }


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def generate(scale: int, transformers: int, seed: int) -> tuple[dict, float]:
    from core.context import SYSTEM, acting_as
    from core.db import session_scope
    from gis.generator import generate_network

    bars, progress = stage_bars(console, 28)

    started = time.perf_counter()
    with bars, acting_as(SYSTEM, request_id="bench-gis"), session_scope() as session:
        report = generate_network(
            session, service_points=scale, seed=seed, transformers=transformers, progress=progress
        )
    return {
        "counts": report.counts,
        "rated_kva": report.rated_kva,
        "phases_s": report.seconds,
    }, time.perf_counter() - started


def bench_traces(samples: int, seed: int) -> dict:
    from core.db import session_scope
    from gis import topology

    with session_scope() as session:
        feeders = session.execute(text("SELECT id, code FROM gis_feeder ORDER BY id")).all()
        started = time.perf_counter()
        topology.get_graph(session)  # loads and orients the graph once per network version
        graph_s = time.perf_counter() - started
        rng = np.random.default_rng(seed)
        chosen = [
            feeders[i] for i in rng.choice(len(feeders), min(samples, len(feeders)), replace=False)
        ]
        times, reached = [], []
        for _feeder_id, code in chosen:
            t0 = time.perf_counter()
            result = topology.trace(session, feeder_code=code, direction="downstream")
            times.append((time.perf_counter() - t0) * 1000)
            reached.append(result.counts["service_points"])
        # Floor: the plainest answer to "what is downstream of this feeder": one indexed
        # count over the materialised electrical address (no graph, no switch states).
        floor_times = []
        for feeder_id, _code in chosen:
            t0 = time.perf_counter()
            session.execute(
                text("SELECT count(*) FROM gis_service_point WHERE feeder_id = :f"),
                {"f": feeder_id},
            ).scalar_one()
            floor_times.append((time.perf_counter() - t0) * 1000)
        # Sanity: the trace agrees with the materialised electrical address.
        feeder_id, code = chosen[0]
        expected = session.execute(
            text("SELECT count(*) FROM gis_service_point WHERE feeder_id = :f"), {"f": feeder_id}
        ).scalar_one()
        agrees = (
            topology.trace(session, feeder_code=code, direction="downstream").counts[
                "service_points"
            ]
            == expected
        )
    trace_p50 = float(np.percentile(times, 50))
    floor_p50 = float(np.percentile(floor_times, 50))
    return {
        "graph_load_s": round(graph_s, 2),
        "trace_ms": percentiles(times),
        "floor_materialised_address_count_ms": percentiles(floor_times),
        "trace_to_floor_p50_ratio": round(trace_p50 / max(floor_p50, 1e-6), 1),
        "service_points_per_feeder_mean": round(float(np.mean(reached)), 1),
        "trace_matches_materialised_address": bool(agrees),
    }


def _row_fetch_load(session) -> None:
    """The graph rows read the way the loader did before binary COPY (one Python row each),
    for comparison only."""
    for sql in (
        "SELECT id FROM gis_network_node",
        "SELECT id, from_node_id, to_node_id FROM gis_line_segment ORDER BY id",
        "SELECT id, from_node_id, to_node_id, is_open::int FROM gis_switch ORDER BY id",
        "SELECT id, hv_node_id, lv_node_id FROM gis_power_transformer ORDER BY id",
        "SELECT id, node_id FROM gis_service_point",
        "SELECT id, coalesce(head_node_id, -1) FROM gis_feeder ORDER BY id",
    ):
        np.asarray(session.execute(text(sql)).fetchall(), dtype=np.int64)


def bench_switching(rounds: int) -> dict:
    """Cold graph load (read + orientation), and the first trace after a committed switch
    operation (the cache keeps the structure and rereads the switch states only)."""
    from core.context import SYSTEM, acting_as
    from core.db import session_scope
    from gis import graph_source, service, topology
    from gis.graph import build_graph

    with session_scope() as session:
        t0 = time.perf_counter()
        _row_fetch_load(session)
        row_fetch_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = graph_source.load_input(session)
        copy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        build_graph(data, 0)
        build_s = time.perf_counter() - t0
        topology.clear_cache()
        t0 = time.perf_counter()
        topology.get_graph(session)
        cold_s = time.perf_counter() - t0
        switches = session.execute(
            text(
                "SELECT s.code, f.code FROM gis_switch s JOIN gis_feeder f ON f.id = s.feeder_id "
                "WHERE NOT s.is_open ORDER BY s.id LIMIT :n"
            ),
            {"n": rounds},
        ).all()
    before = topology.graph_loads()
    first_trace_ms = []
    for switch, feeder in switches:
        for state in (True, False):
            with acting_as(SYSTEM, request_id="bench-gis"), session_scope() as session:
                service.operate_switch(session, actor=SYSTEM, code=switch, open=state)
            with session_scope() as session:
                t0 = time.perf_counter()
                topology.trace(session, feeder_code=feeder, direction="downstream")
                first_trace_ms.append((time.perf_counter() - t0) * 1000)
    after = topology.graph_loads()
    return {
        "graph_rows_row_fetch_s": round(row_fetch_s, 2),
        "graph_rows_binary_copy_s": round(copy_s, 2),
        "graph_orientation_s": round(build_s, 2),
        "graph_cold_load_s": round(cold_s, 2),
        "first_trace_after_switch_ms": percentiles(first_trace_ms),
        "switch_operations": len(first_trace_ms),
        "structure_reloads_during_switching": after["structure"] - before["structure"],
        "switch_state_reads_during_switching": after["switch_states"] - before["switch_states"],
        "before_this_change_first_trace_after_switch_s_estimate": round(row_fetch_s + build_s, 2),
    }


NEAREST_SQL = """
CREATE UNLOGGED TABLE bench_nearest_transformer AS
SELECT sp.id AS service_point_id, nt.id AS transformer_id
FROM gis_service_point sp
CROSS JOIN LATERAL (
    SELECT t.id FROM gis_power_transformer t ORDER BY t.geom <-> sp.geom LIMIT 1
) AS nt
"""


def bench_nearest() -> dict:
    from core.db import session_scope

    with session_scope() as session:
        session.execute(text("SET LOCAL jit = off"))
        started = time.perf_counter()
        session.execute(text(NEAREST_SQL))
        elapsed = time.perf_counter() - started
        # Floor: writing the same number of (service point, transformer) rows from the
        # materialised address, with no spatial search at all.
        started = time.perf_counter()
        session.execute(
            text(
                "CREATE UNLOGGED TABLE bench_nearest_floor AS "
                "SELECT id AS service_point_id, transformer_id FROM gis_service_point"
            )
        )
        floor_s = time.perf_counter() - started
        rows, same = session.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE n.transformer_id = sp.transformer_id) "
                "FROM bench_nearest_transformer n JOIN gis_service_point sp ON sp.id = n.service_point_id"
            )
        ).one()
    return {
        "nearest_transformer_assignment_s": round(elapsed, 2),
        "floor_plain_copy_of_assignment_s": round(floor_s, 2),
        "nearest_to_floor_ratio": round(elapsed / max(floor_s, 1e-6), 1),
        "assigned_rows": int(rows),
        "same_as_generated_lv_zone_share": round(same / max(rows, 1), 4),
        "method": "one INSERT..SELECT: LATERAL KNN (ORDER BY geom <-> geom LIMIT 1, GiST) "
        "per service point, written to an unlogged table",
    }


TILE_FLOOR_SQL = """
SELECT ST_AsMVT(q, 'service_points') FROM (
    SELECT sp.id, ST_AsMVTGeom(ST_Transform(sp.geom, 3857), ST_TileEnvelope(:z, :x, :y)) AS geom
    FROM gis_service_point sp
    WHERE sp.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)
) AS q
"""


def bench_tiles(samples: int, seed: int) -> dict:
    from fastapi.testclient import TestClient

    from core.auth import service as auth_service
    from core.db import session_scope
    from kilowatch.app import build_app

    password = uuid.uuid4().hex  # a throw-away reader in a throw-away database
    with session_scope() as session:
        user = auth_service.create_user(
            session, username="bench.reader", password=password, roles=["technician"]
        )
        _u, token, _ttl = auth_service.authenticate(
            session, username=user.username, password=password, client_address="bench"
        )
        rng = np.random.default_rng(seed)
        # Tiles where the connections are: those holding randomly drawn service points
        # (generated ids are consecutive), so dense districts weigh as they do for users.
        first, count = session.execute(
            text("SELECT min(id), count(*) FROM gis_service_point")
        ).one()
        ids = (first + rng.choice(count, min(samples * 3, count), replace=False)).tolist()
        points = session.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom) FROM gis_service_point "
                "WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id"
            ),
            {"ids": ids},
        ).all()
    headers = {"Authorization": f"Bearer {token}"}
    out: dict = {}
    with TestClient(build_app()) as client:
        for z in (14, 16):
            coords = list(dict.fromkeys(tile_of(lon, lat, z) for lon, lat in points))[:samples]
            client.get(
                f"/tiles/service_points/{z}/{coords[0][0]}/{coords[0][1]}.mvt", headers=headers
            )
            times, sizes, floor_times = [], [], []
            with session_scope() as session:
                for x, y in coords:
                    # Floor: the bare MVT statement for the same tile, no HTTP, auth or
                    # territory rule.
                    t0 = time.perf_counter()
                    session.execute(text(TILE_FLOOR_SQL), {"z": z, "x": x, "y": y}).scalar_one()
                    floor_times.append((time.perf_counter() - t0) * 1000)
            for x, y in coords:
                t0 = time.perf_counter()
                answer = client.get(f"/tiles/service_points/{z}/{x}/{y}.mvt", headers=headers)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, answer.text
                sizes.append(len(answer.content))
            out[f"z{z}"] = {
                "tile_ms": percentiles(times),
                "floor_bare_mvt_sql_ms": percentiles(floor_times),
                "tile_to_floor_p50_ratio": round(
                    float(np.percentile(times, 50))
                    / max(float(np.percentile(floor_times, 50)), 1e-6),
                    1,
                ),
                "tile_bytes_mean": int(np.mean(sizes)),
                "tiles": len(coords),
            }
    return out


def sizes() -> dict:
    from core.db import session_scope
    from gis.generator.writer import TABLES as NETWORK_TABLES

    with session_scope() as session:
        tables = {
            t: {
                "rows": session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one(),
                "mb": round(
                    session.execute(
                        text("SELECT pg_total_relation_size(:t)"), {"t": t}
                    ).scalar_one()
                    / 2**20,
                    1,
                ),
            }
            for t in NETWORK_TABLES
        }
        database_mb = session.execute(
            text("SELECT pg_database_size(current_database())")
        ).scalar_one()
    return {"tables": tables, "database_mb": round(database_mb / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="service points")
    parser.add_argument("--transformers", type=int, default=None, help="default: scale / 20")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--trace-samples", type=int, default=300)
    parser.add_argument("--tile-samples", type=int, default=300)
    parser.add_argument("--switch-rounds", type=int, default=3, help="switches opened+closed")
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = parser.parse_args()
    transformers = args.transformers or max(1, args.scale // 20)

    url, drop = create_database()
    try:
        _use_database(url)
        from core.migrate import upgrade
        from kilowatch.bootstrap import bootstrap

        console.print(
            f"[bold]bench/gis[/]: {args.scale:,} service points, {transformers:,} transformers"
        )
        upgrade(url)
        bootstrap()
        generated, generation_s = generate(args.scale, transformers, args.seed)
        console.print(f"generated in {generation_s:.1f} s; tracing ...")
        traces = bench_traces(args.trace_samples, args.seed)
        console.print(f"traces p50 {traces['trace_ms']['p50']} ms; switching ...")
        switching = bench_switching(args.switch_rounds)
        console.print("nearest transformers ...")
        nearest = bench_nearest()
        console.print(f"nearest in {nearest['nearest_transformer_assignment_s']} s; tiles ...")
        tiles = bench_tiles(args.tile_samples, args.seed)
        result = {
            "bench": "gis",
            "scale_service_points": args.scale,
            "transformers_requested": transformers,
            "generation_s": round(generation_s, 2),
            "generation": generated,
            "full_feeder_downstream_trace": traces,
            "switching": switching,
            "nearest_transformer": nearest,
            "service_point_tiles": tiles,
            "targets": {"trace_p50_ms": 10, "nearest_transformer_s": 60, "tile_p95_ms": 100},
            "data": sizes(),
            "cpu_count": os.cpu_count(),
        }
    finally:
        from core import db as core_db

        core_db.get_engine.cache_clear()  # release pooled connections before dropping
        if args.keep:
            console.print(f"kept database: {url}")
        else:
            import gc

            gc.collect()
            drop()
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    line = json.dumps(result)
    (results / "gis.json").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
