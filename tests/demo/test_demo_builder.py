"""The demo utility builder on a small network: exact counts, 24 monthly reads per usage
point minus the deliberately missing ones, determinism, injected thefts, zone meters that
record true energy plus technical losses, a ground truth kept apart, idempotency, removal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM, acting_as
from fraud.losses import TransformerZone, feeder_line_loss_kwh, transformer_terms
from kilowatch.demo_utility.builder import build_demo_utility
from kilowatch.demo_utility.plan_losses import LOAD_SPREAD, NO_LOAD_SPREAD
from kilowatch.demo_utility.profiles import month_starts
from kilowatch.demo_utility.removal import delete_demo_utility
from kilowatch.demo_utility.thefts import ATTACKS, THEFT_SHARE

SEED = 4_242
CUSTOMERS = 200
SERVICE_POINTS = 300
FIRST_MONTH = date(2024, 1, 1)


def _build(db: Session, seed: int = SEED):
    with acting_as(SYSTEM, request_id="test-demo"):
        return build_demo_utility(
            db,
            customers=CUSTOMERS,
            seed=seed,
            service_points=SERVICE_POINTS,
            first_month=FIRST_MONTH,
        )


@pytest.fixture()
def built(db: Session):
    return _build(db)


def _batch(db: Session, seed: int = SEED) -> int:
    return db.scalar(text("SELECT id FROM demo_batch WHERE seed = :s"), {"s": seed})


def test_exact_counts_and_24_monthly_reads_minus_the_missing_ones(db: Session, built) -> None:
    assert built.created
    batch = _batch(db)
    ups = db.execute(
        text("""
        SELECT g.usage_point_id, cardinality(g.missing_read_months) AS missing,
               (SELECT count(*) FROM meter_reading r WHERE r.usage_point_id = g.usage_point_id
                  AND r.read_at >= :first) AS reads,
               (SELECT count(*) FROM meter_installation i
                WHERE i.usage_point_id = g.usage_point_id) AS installations,
               g.events
        FROM demo_ground_truth g WHERE g.batch_id = :b AND g.subject = 'usage_point'
    """),
        {"b": batch, "first": FIRST_MONTH},
    ).all()
    assert len(ups) == CUSTOMERS
    assert all(r.reads == 24 - r.missing for r in ups)
    assert sum(r.missing for r in ups) == built.counts["missing_reads"] > 0
    # Every usage point has its meter; replaced ones have two installations.
    replaced = [r for r in ups if "replaced_month" in r.events]
    assert len(replaced) == built.counts["replacements"] >= 2
    assert all(r.installations == (2 if "replaced_month" in r.events else 1) for r in ups)
    counts = db.execute(
        text("""
        SELECT (SELECT count(DISTINCT c.holder_party_id) FROM customer_contract c
                WHERE c.usage_point_id IN (SELECT usage_point_id FROM demo_ground_truth
                                           WHERE batch_id = :b)) AS holders,
               (SELECT count(*) FROM customer_contract c WHERE c.status = 'active'
                  AND c.usage_point_id IN (SELECT usage_point_id FROM demo_ground_truth
                                           WHERE batch_id = :b)) AS active,
               (SELECT count(*) FROM customer_party p JOIN customer_party_phone ph
                  ON ph.party_id = p.id AND ph.is_primary WHERE ph.e164 LIKE '+22901%'
                  AND p.id IN (SELECT holder_party_id FROM customer_contract c
                               JOIN demo_ground_truth g ON g.usage_point_id = c.usage_point_id
                               WHERE g.batch_id = :b)) AS phoned,
               (SELECT count(*) FROM meter_reading WHERE import_job = :job
                  AND usage_point_id IS NULL) AS zone_reads
    """),
        {"b": batch, "job": f"demo.build:{SEED}"},
    ).one()
    assert counts.holders == CUSTOMERS  # every customer holds its own contract
    assert counts.active == CUSTOMERS
    assert counts.phoned == CUSTOMERS
    zones = built.counts["transformers"] + built.counts["feeders"]
    assert counts.zone_reads == zones * 25
    categories = dict(
        db.execute(
            text(
                "SELECT category, count(*) FROM demo_ground_truth WHERE batch_id = :b "
                "AND subject = 'usage_point' GROUP BY category"
            ),
            {"b": batch},
        ).all()
    )
    assert categories["residential"] > CUSTOMERS * 0.6
    assert {"residential", "commercial"} <= set(categories)


def test_thefts_of_every_type_in_the_intended_share(db: Session, built) -> None:
    rows = db.execute(
        text("""
        SELECT attack, attack_from, attack_to, true_kwh, metered_kwh FROM demo_ground_truth
        WHERE batch_id = :b AND subject = 'usage_point' AND attack IS NOT NULL
    """),
        {"b": _batch(db)},
    ).all()
    # A few percent, and at least one of each attack type (``thefts.theft_count``).
    assert len(rows) == max(round(CUSTOMERS * THEFT_SHARE), len(ATTACKS))
    assert 0.04 <= len(rows) / CUSTOMERS <= 0.06
    assert {r.attack for r in rows} == set(ATTACKS)
    months = month_starts(FIRST_MONTH, 24)
    for r in rows:
        start = months.index(r.attack_from)
        before_true, before_metered = r.true_kwh[:start], r.metered_kwh[:start]
        assert before_true == before_metered  # honest until the attack starts
        during_true = sum(r.true_kwh[start:])
        during = sum(r.metered_kwh[start:])
        if r.attack == "meter_stopped":
            assert during == 0
        elif r.attack == "meter_reversed":
            assert all(v < 0 for v in r.metered_kwh[start:] if v) and during < 0
        elif r.attack == "h6":
            assert r.metered_kwh[start:] == r.true_kwh[start:][::-1]
        elif r.attack in {"h1", "h2", "h3", "bypass"}:
            assert during < during_true


def test_zone_meters_record_true_energy_plus_losses(db: Session, built) -> None:
    batch = _batch(db)
    # Per transformer and month: true energy of the usage points downstream (from the
    # customers' ground truth), the loss recorded, and the zone meter's monthly advance.
    rows = db.execute(
        text("""
        WITH downstream AS (
          SELECT sp.transformer_id, m.month, sum(g.true_kwh[m.month]) AS kwh
          FROM demo_ground_truth g
          JOIN customer_usage_point u ON u.id = g.usage_point_id
          JOIN customer_service_location l ON l.id = u.service_location_id
          JOIN gis_service_point sp ON sp.id = l.service_point_id
          CROSS JOIN generate_series(1, 24) AS m(month)
          WHERE g.batch_id = :b AND g.subject = 'usage_point'
          GROUP BY sp.transformer_id, m.month
        ), advance AS (
          SELECT meter_id, value - lag(value) OVER (PARTITION BY meter_id ORDER BY read_at) AS kwh,
                 row_number() OVER (PARTITION BY meter_id ORDER BY read_at) - 1 AS month
          FROM meter_reading WHERE import_job = :job AND usage_point_id IS NULL
        )
        SELECT z.transformer_id, d.month, d.kwh AS true_kwh, z.true_kwh[d.month] AS truth,
               z.loss_kwh[d.month] AS loss, a.kwh AS zone_kwh, z.events, t.rated_kva,
               (SELECT sum(s.length_m) / 1000 FROM gis_line_segment s
                WHERE s.transformer_id = t.id AND s.voltage_level = 'lv') AS lv_km
        FROM demo_ground_truth z
        JOIN downstream d ON d.transformer_id = z.transformer_id
        JOIN advance a ON a.meter_id = z.meter_id AND a.month = d.month
        JOIN gis_power_transformer t ON t.id = z.transformer_id
        WHERE z.batch_id = :b AND z.subject = 'transformer'
    """),
        {"b": batch, "job": f"demo.build:{SEED}"},
    ).all()
    assert rows
    hours = np.diff([0, *[(m - FIRST_MONTH).days for m in month_starts(FIRST_MONTH, 24)[1:]]]) * 24
    for r in rows:
        assert r.true_kwh == r.truth
        assert r.zone_kwh == r.true_kwh + r.loss  # exact, to the watt-hour
        # The loss the energy in causes: iron losses round the clock plus I²R at the month's
        # average power (fraud's load-and-length terms), each times the zone's own factor.
        e, h = r.events, hours[r.month - 1]
        assert abs(e["no_load_factor"] - 1) <= NO_LOAD_SPREAD
        assert abs(e["load_factor"] - 1) <= LOAD_SPREAD
        no_load, load = transformer_terms(TransformerZone(r.rated_kva, r.lv_km, None), 1.0)
        assert (e["no_load_kw"], e["load_kw_per_kw2"]) == pytest.approx((no_load, load))
        power = float(r.zone_kwh) / h
        expected = h * (e["no_load_factor"] * no_load + e["load_factor"] * load * power**2)
        assert float(r.loss) == pytest.approx(expected, abs=0.002)
        assert r.loss > 0
    feeders = db.execute(
        text("""
        SELECT f.feeder_id, f.true_kwh AS fin, f.loss_kwh AS floss, f.events,
               (SELECT sum(s.length_m) / 1000 FROM gis_line_segment s
                WHERE s.feeder_id = f.feeder_id AND s.voltage_level = 'mv') AS mv_km,
               (SELECT array_agg(x ORDER BY i) FROM (
                  SELECT i, sum(t.metered_kwh[i]) AS x FROM demo_ground_truth t,
                         generate_series(1, 24) AS i
                  WHERE t.batch_id = :b AND t.subject = 'transformer' AND t.feeder_id = f.feeder_id
                  GROUP BY i) s) AS transformers_in
        FROM demo_ground_truth f WHERE f.batch_id = :b AND f.subject = 'feeder'
    """),
        {"b": batch},
    ).all()
    assert feeders
    for f in feeders:
        assert f.fin == f.transformers_in  # feeder head = its transformers' zones (+ MV loss)
        e = f.events
        assert abs(e["load_factor"] - 1) <= LOAD_SPREAD
        assert e["load_kw_per_kw2"] == pytest.approx(
            feeder_line_loss_kwh(float(f.mv_km), None, 1, 1)
        )
        for month, (taken, loss) in enumerate(zip(f.fin, f.floss, strict=True)):
            h = hours[month]
            power = float(taken + loss) / h  # the MV lines carry the feeder's energy in
            expected = h * e["load_factor"] * e["load_kw_per_kw2"] * power**2
            assert float(loss) == pytest.approx(expected, abs=0.002)
            assert 0 < loss < Decimal("0.02") * taken  # MV I²R: a fraction of a percent to 2 %


def test_same_seed_same_truth_and_a_rerun_adds_nothing(db: Session, built) -> None:
    def truth() -> list[tuple]:
        return [
            tuple(r)
            for r in db.execute(
                text("""
            SELECT sp.code, g.category, g.attack, g.attack_from, g.true_kwh, g.metered_kwh,
                   g.missing_read_months
            FROM demo_ground_truth g
            JOIN customer_usage_point u ON u.id = g.usage_point_id
            JOIN customer_service_location l ON l.id = u.service_location_id
            JOIN gis_service_point sp ON sp.id = l.service_point_id
            WHERE g.batch_id = (SELECT id FROM demo_batch WHERE seed = :s)
            ORDER BY sp.code, l.unit NULLS FIRST, g.true_kwh
        """),
                {"s": SEED},
            ).all()
        ]

    first = truth()
    again = _build(db)
    assert not again.created
    assert db.scalar(text("SELECT count(*) FROM demo_batch WHERE seed = :s"), {"s": SEED}) == 1
    assert truth() == first
    # Rebuilt from scratch with the same seed: the very same truth.
    with acting_as(SYSTEM, request_id="test-demo"):
        assert delete_demo_utility(db, seed=SEED, with_network=True)
    assert (
        db.scalar(
            text("SELECT count(*) FROM meter_reading WHERE import_job = :j"),
            {"j": f"demo.build:{SEED}"},
        )
        == 0
    )
    assert _build(db).created
    assert truth() == first


def test_ground_truth_is_kept_apart(db: Session, built) -> None:
    # No business table carries theft information or points at the ground truth.
    columns = (
        db.execute(
            text("""
        SELECT table_name FROM information_schema.columns
        WHERE column_name IN ('attack', 'true_kwh') AND table_schema = 'public'
    """)
        )
        .scalars()
        .all()
    )
    assert set(columns) == {"demo_ground_truth"}
    referencing = (
        db.execute(
            text("""
        SELECT conrelid::regclass::text FROM pg_constraint
        WHERE contype = 'f' AND confrelid = 'demo_ground_truth'::regclass
    """)
        )
        .scalars()
        .all()
    )
    assert referencing == []
    # Readings of a thief look like anybody's: no trace of the attack outside the truth.
    codes = (
        db.execute(
            text("SELECT DISTINCT import_job FROM meter_reading WHERE import_job LIKE 'demo%'")
        )
        .scalars()
        .all()
    )
    assert codes == [f"demo.build:{SEED}"]
