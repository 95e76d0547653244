"""Benchmark: NTL features of N usage points x 24 months read from the database.

    python bench/fraud_features.py [--scale N]   (default 100,000 usage points)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster), migrates it, creates transformers (40 usage points each), service points,
premises, usage points, meters and installations set-based, writes 24 monthly accepted
reads per meter straight into ``meter_reading`` (1 % of them estimated, a tenth of the
customers falling by half in the last 6 months), then times ``fraud.features`` (the load
from the database and each family), the floor (a bare IsolationForest fit and score on the
same matrix, NaN set to 0) and their ratio, drops the database and prints one JSON object
as its last line. The issue's target: features plus scoring of 1,000,000 x 24 under 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MONTHS = 24
PER_TRANSFORMER = 40
FIRST = date(2024, 1, 1)
PERIOD = date(2025, 12, 1)


def _database() -> tuple[str, Callable[[], None]]:
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database(
        "kw_bench_fraud_features", os.environ.get("KILOWATCH_DATABASE_URL")
    )
    return scratch.url, scratch.drop


_FIXTURES = [
    # One node per transformer: its HV and LV side and its service points all hang on it.
    "INSERT INTO gis_network_node (code, location_precision, geom) SELECT 'BN' || g, "
    "'surveyed', ST_SetSRID(ST_MakePoint("
    "2.3 + (g % 300) * 0.002, 6.3 + (g / 300) * 0.002), 4326) FROM generate_series(1, :t) g",
    "INSERT INTO gis_power_transformer (code, rated_kva, hv_node_id, lv_node_id, geom, "
    "location_precision) SELECT 'BT' || n.id, 100, n.id, n.id, n.geom, 'surveyed' "
    "FROM gis_network_node n",
    "INSERT INTO gis_service_point (code, kind, location_precision, node_id, geom, "
    "transformer_id) SELECT 'BS' || g, 'connection', 'surveyed', t.lv_node_id, ST_SetSRID(ST_MakePoint(ST_X(t.geom) + "
    "(random() - 0.5) * 0.002, ST_Y(t.geom) + (random() - 0.5) * 0.002), 4326), t.id "
    "FROM generate_series(1, :n) g JOIN gis_power_transformer t ON t.code = 'BT' || "
    "((SELECT min(id) FROM gis_network_node) + (g - 1) / :per)",
    "INSERT INTO customer_service_location (code, address_line, service_point_id) "
    "SELECT 'SL' || sp.id, 'Bench street', sp.id FROM gis_service_point sp",
    "INSERT INTO customer_usage_point (code, service_location_id, category, subscribed_power_kva) "
    "SELECT 'UP' || sl.id, sl.id, CASE WHEN sl.id % 20 = 0 THEN 'commercial' "
    "ELSE 'residential' END, 6 FROM customer_service_location sl",
    "INSERT INTO meter_asset (serial, make, model, meter_type, dial_digits, status) "
    "SELECT 'BM' || up.id, 'Bench', 'B6', 'postpaid', 6, 'installed' FROM customer_usage_point up",
    "INSERT INTO meter_register (meter_id, code) SELECT id, 'total' FROM meter_asset",
    "INSERT INTO meter_installation (meter_id, usage_point_id, installed_at, start_indexes) "
    "SELECT m.id, up.id, '2023-12-01T00:00:00Z', '{\"total\": \"0\"}' FROM meter_asset m "
    "JOIN customer_usage_point up ON 'BM' || up.id = m.serial",
]

# Every installation's register and its monthly use (a household's ~180 kWh a month).
_MAIN_REGISTERS = (
    "CREATE TEMP TABLE bench_register ON COMMIT DROP AS SELECT reg.id AS register_id, "
    "i.meter_id, i.id AS installation_id, i.usage_point_id, 120 + (i.id % 120) AS monthly "
    "FROM meter_installation i JOIN meter_register reg ON reg.meter_id = i.meter_id "
    "ORDER BY i.id"
)
# Month k's read on the 11th: the index so far, in closed form (no window over the whole
# history): one in ten usage points halves in the last 6 months; 1 % of reads estimated.
_READS = (
    "INSERT INTO meter_reading (read_at, register_id, meter_id, installation_id, "
    "usage_point_id, value, source, status, rule_set_version) "
    "SELECT timestamptz '2024-01-11T08:00:00Z' + make_interval(months => :k), "
    "b.register_id, b.meter_id, b.installation_id, b.usage_point_id, "
    "round(CASE WHEN b.usage_point_id % 10 = 0 AND :k >= :months - 6 "
    "THEN b.monthly * ((:months - 6) + 0.5 * (:k - (:months - 6) + 1)) "
    "ELSE b.monthly * (:k + 1) END), "
    "CASE WHEN random() < 0.01 THEN 'estimated' ELSE 'ami' END, 'accepted', :version "
    "FROM bench_register b ORDER BY b.installation_id"
)


def _fixtures(session, usage_points: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from core.audit import declare_bulk_job
    from meters.readings.partitions import ensure_reading_partitions
    from meters.readings.rule_sets import active_rule_set

    declare_bulk_job(session, "bench-fraud-features-fixtures")
    from core.periods import month_starts

    months = month_starts(date(2023, 11, 1), MONTHS + 6)
    ensure_reading_partitions(session, [datetime(m.year, m.month, 15, tzinfo=UTC) for m in months])
    params = {
        "t": -(-usage_points // PER_TRANSFORMER),
        "n": usage_points,
        "per": PER_TRANSFORMER,
        "months": MONTHS,
        "version": active_rule_set(session).version,
    }
    # A generator's rows are rebuilt if lost: no need to wait for each commit's WAL flush.
    session.execute(text("SET LOCAL synchronous_commit = off"))
    for sql in _FIXTURES:
        session.execute(text(sql), params)
    session.execute(text(_MAIN_REGISTERS))
    for k in range(MONTHS):  # month by month: each lands in one partition, in id order
        session.execute(text(_READS), {**params, "k": k})
    session.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000, help="Usage points")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import numpy as np
    from sklearn.ensemble import IsolationForest

    from core import db as core_db
    from core.migrate import upgrade
    from core.scratch_db import use_database

    url, drop = _database()
    use_database(url)
    try:
        upgrade(url)
        from fraud.features.build import FAMILIES
        from fraud.features.matrix import FeatureMatrix
        from fraud.features.series import load_history
        from kilowatch.bootstrap import bootstrap

        bootstrap()
        started = time.perf_counter()
        with core_db.session_scope(url) as session:
            _fixtures(session, args.scale)
        fixture_seconds = time.perf_counter() - started
        print(f"fixtures ready in {fixture_seconds:.1f} s", file=sys.stderr)

        load_steps: dict[str, float] = {}
        started = time.perf_counter()
        with core_db.session_scope(url) as session:
            history = load_history(session, PERIOD, MONTHS, timings=load_steps)
        load_seconds = time.perf_counter() - started
        steps: dict[str, float] = {}
        parts = []
        for family in FAMILIES:
            t0 = time.perf_counter()
            parts.append(family.compute(history))
            steps[family.__name__.rsplit(".", 1)[1]] = round(time.perf_counter() - t0, 3)
        matrix = FeatureMatrix.join(parts, history.ids, history.months[-1])
        features_seconds = time.perf_counter() - started
        print(f"features: load {load_seconds:.2f} s, families {steps}", file=sys.stderr)

        x = np.nan_to_num(matrix.values)
        t0 = time.perf_counter()
        forest = IsolationForest(n_estimators=100, random_state=args.seed).fit(x)
        scores = -forest.score_samples(x)
        floor_seconds = time.perf_counter() - t0
        falling = matrix.usage_point_ids % 10 == 0
        top = np.argsort(-matrix.column("change_point_drop"))[: int(falling.sum())]
    finally:
        core_db.get_engine(url).dispose()
        drop()
    print(
        json.dumps(
            {
                "benchmark": "fraud_features",
                "usage_points": len(matrix.usage_point_ids),
                "months": MONTHS,
                "features": len(matrix.columns),
                "fixture_seconds": round(fixture_seconds, 2),
                "load_seconds": round(load_seconds, 2),
                "load_step_seconds": load_steps,
                "family_seconds": steps,
                "features_seconds": round(features_seconds, 2),
                "floor_isolation_forest_seconds": round(floor_seconds, 2),
                "features_to_floor_ratio": round(features_seconds / floor_seconds, 2),
                "falling_share_in_top_change_point_drop": round(float(falling[top].mean()), 3),
                "mean_score_falling_vs_rest": [
                    round(float(scores[falling].mean()), 4),
                    round(float(scores[~falling].mean()), 4),
                ],
                "target_seconds_1m_with_models": 60,
                "cpu_count": os.cpu_count(),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
