"""Benchmark: NTL features plus scoring of N usage points x 24 months read from the database.

    python bench/fraud.py [--scale N] [--store]   (default 1,000,000 usage points)

Builds a throw-away database with ``bench/fraud_features.py``'s fixtures (transformers of
40 usage points, 24 monthly reads each, a tenth of the customers falling by half in the
last 6 months), then times, on one process:

- load: the monthly history from ``meter_reading`` (``fraud.features.series``);
- features: the feature families over it;
- scoring: robust scaling, the isolation forest fitted and scored, the local outlier
  factor within every transformer zone, the direction rank, P(NTL) and the ranking under
  a budget (``fraud.scoring.pipeline``);
- reasons: the top reasons in words of every usage point;
- store (with ``--store``): the run's scores COPied into ``fraud_score`` and the flags;

beside the floor (a bare IsolationForest fit and score on the same matrix, NaN set to 0,
the same parameters) and the ratio of features + scoring (load included) to the floor.
The issue's target: features plus scoring of 1,000,000 x 24 under 60 s. Prints one JSON
object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fraud_features import MONTHS, PERIOD, _database, _fixtures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="Usage points")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", action="store_true", help="Also store the run's scores")
    parser.add_argument("--keep", action="store_true", help="Keep the database (prints its URL)")
    parser.add_argument("--reuse", metavar="URL", help="A database kept by --keep: no fixtures")
    args = parser.parse_args()

    import numpy as np
    from sklearn.ensemble import IsolationForest

    from core import db as core_db
    from core.migrate import upgrade
    from core.scratch_db import use_database

    if args.reuse:
        url, drop = args.reuse, lambda: None
    else:
        url, drop = _database()
    if args.keep:
        print(f"database kept: {url}", file=sys.stderr)
        drop = lambda: None  # noqa: E731
    use_database(url)
    seconds: dict[str, float] = {}
    try:
        if not args.reuse:
            upgrade(url)
        from core.context import SYSTEM
        from fraud.features.build import features_of
        from fraud.features.series import load_history
        from fraud.scoring import detectors, pipeline
        from fraud.scoring.ranking import RankingRules
        from kilowatch.bootstrap import bootstrap

        bootstrap()
        t0 = time.perf_counter()
        if not args.reuse:
            with core_db.session_scope(url) as session:
                _fixtures(session, args.scale)
        fixture_seconds = time.perf_counter() - t0
        print(f"fixtures ready in {fixture_seconds:.1f} s", file=sys.stderr)

        load_steps: dict[str, float] = {}
        # CPU time of this process too: on a shared machine the wall clock measures the
        # queue for the cores as much as the work (the database's own CPU is not in it).
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        with core_db.session_scope(url) as session:
            history = load_history(session, PERIOD, MONTHS, timings=load_steps)
        seconds["load"] = time.perf_counter() - t0
        print(f"loaded in {seconds['load']:.1f} s: {load_steps}", file=sys.stderr)
        t0 = time.perf_counter()
        matrix = features_of(history)
        seconds["features"] = time.perf_counter() - t0
        rules = RankingRules(budget=max(1, args.scale // 100), audit_share=0.1, seed=args.seed)
        t0 = time.perf_counter()
        model = pipeline.fit_forest_model(matrix, detectors.ForestParams(random_state=args.seed))
        scored = pipeline.score(history, model, rules, matrix=matrix)
        seconds["scoring"] = time.perf_counter() - t0
        client_cpu = time.process_time() - cpu0
        scoring_steps = {k: v for k, v in scored.seconds.items() if k != "features"}
        t0 = time.perf_counter()
        reasons = scored.reasons()
        seconds["reasons"] = time.perf_counter() - t0
        print(f"scored: {seconds}", file=sys.stderr)

        # The floor: the same forest alone on the same matrix.
        x = np.nan_to_num(matrix.values)
        t0 = time.perf_counter()
        forest = IsolationForest(
            n_estimators=100, max_samples=256, random_state=args.seed, n_jobs=-1
        )
        floor_scores = -forest.fit(x).score_samples(x)
        floor = time.perf_counter() - t0

        if args.store:
            from fraud.models import ScoreRun
            from fraud.scoring.service import store_scores

            t0 = time.perf_counter()
            with core_db.session_scope(url) as session:
                run = ScoreRun(
                    period=PERIOD, models={}, rules={}, usage_points=len(x), selected=0,
                    seconds={}, started_by=SYSTEM.username,
                )  # fmt: skip
                session.add(run)
                session.flush()
                store_scores(session, run, scored, rules)
            seconds["store"] = time.perf_counter() - t0
        falling = matrix.usage_point_ids % 10 == 0
        k = int(falling.sum())
        top = np.argsort(-scored.probability)[:k]
        top_floor = np.argsort(-floor_scores)[:k]
    finally:
        core_db.get_engine(url).dispose()
        drop()
    total = seconds["load"] + seconds["features"] + seconds["scoring"]
    print(
        json.dumps(
            {
                "benchmark": "fraud",
                "usage_points": len(matrix.usage_point_ids),
                "months": MONTHS,
                "features": len(matrix.columns),
                "fixture_seconds": round(fixture_seconds, 2),
                "load_seconds": round(seconds["load"], 2),
                "load_step_seconds": load_steps,
                "features_seconds": round(seconds["features"], 2),
                "scoring_seconds": round(seconds["scoring"], 2),
                "scoring_step_seconds": scoring_steps,
                "features_plus_scoring_seconds": round(total, 2),
                "features_plus_scoring_client_cpu_seconds": round(client_cpu, 2),
                "reasons_seconds": round(seconds["reasons"], 2),
                "reasons_rows": len(reasons),
                "store_seconds": round(seconds["store"], 2) if "store" in seconds else None,
                "floor_isolation_forest_seconds": round(floor, 2),
                "ratio_to_floor": round(total / floor, 2),
                "target_seconds_1m": 60,
                "falling_share_in_top_probability": round(float(falling[top].mean()), 3),
                "falling_share_in_top_floor": round(float(falling[top_floor].mean()), 3),
                "cpu_count": os.cpu_count(),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
