"""Round-ordering benchmark: walking distance of a reading round ordered by OR-Tools
against the same round ordered by usage-point code (the legacy paper order), with the
time each takes and a same-run floor (the greedy nearest-neighbour walk).

    python bench/rounds.py [--scale N] [--seed S] [--time-limit SECONDS]

N stops (default 500, the issue's target) are houses along a street grid of a town near
Cotonou (lon/lat, EPSG:4326), coded in connection order (which has nothing to do with the
street), projected to the deployment's CRS (KILOWATCH_PROJECTED_CRS) with pyproj as the
round builder does with PostGIS, then ordered by ``field.routing``. Straight-line legs in
metres. No database is needed: the ordering is the work measured. The last line of
stdout is ONE JSON object (also saved to bench/results/rounds.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pyproj import Transformer  # noqa: E402

from core.settings import get_settings  # noqa: E402
from field.routing import nearest_neighbour, order_stops, path_length, start_stop  # noqa: E402

CENTRE = (2.42, 6.37)
BLOCK_DEG = 0.0009  # ~100 m street blocks
HOUSE_DEG = 0.00012  # ~13 m between houses along a street


def town(n: int, rng: random.Random) -> list[tuple[float, float]]:
    """``n`` houses along the streets of a square grid, in random (connection) order."""
    side = max(2, int((n * HOUSE_DEG / BLOCK_DEG / 2) ** 0.5) + 1)
    houses: list[tuple[float, float]] = []
    for street in range(side + 1):
        for step in range(int(side * BLOCK_DEG / HOUSE_DEG)):
            along = step * HOUSE_DEG
            houses.append((CENTRE[0] + along, CENTRE[1] + street * BLOCK_DEG + 0.00002))
            houses.append((CENTRE[0] + street * BLOCK_DEG + 0.00002, CENTRE[1] + along))
    rng.shuffle(houses)
    return houses[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=500, help="stops in the round")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--time-limit", type=float, default=None, help="solver budget (s)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    lonlat = town(args.scale, rng)
    crs = get_settings().projected_crs
    project = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    points = [project.transform(lon, lat) for lon, lat in lonlat]
    code_order = list(range(len(points)))  # codes follow connection order

    started = time.perf_counter()
    solved = order_stops(points, time_limit_s=args.time_limit)
    ortools_s = time.perf_counter() - started
    started = time.perf_counter()
    greedy = nearest_neighbour(points, start=start_stop(points))
    greedy_s = time.perf_counter() - started

    code_m = path_length(points, code_order)
    ortools_m = path_length(points, solved)
    greedy_m = path_length(points, greedy)
    report = {
        "benchmark": "rounds",
        "stops": len(points),
        "projected_crs": crs,
        "cores": os.cpu_count(),
        "code_order_m": round(code_m, 1),
        "ortools_m": round(ortools_m, 1),
        "ortools_s": round(ortools_s, 3),
        "floor_nearest_neighbour_m": round(greedy_m, 1),
        "floor_nearest_neighbour_s": round(greedy_s, 4),
        "ortools_shorter_than_code_pct": round(100 * (1 - ortools_m / code_m), 1),
        "ortools_vs_floor_distance_ratio": round(ortools_m / greedy_m, 3),
        "ortools_vs_floor_time_ratio": round(ortools_s / greedy_s, 1) if greedy_s else None,
        "target_shorter_pct": 30,
        "target_met": ortools_m <= 0.7 * code_m,
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rounds.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
