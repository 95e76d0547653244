"""The ranking formula, the budget and its random audits, by hand; and the reasons given
for a planted drop."""

from __future__ import annotations

from datetime import date

import numpy as np

from core.periods import add_months
from fraud.features.build import features_of
from fraud.features.series import History
from fraud.scoring.prepare import Scaling
from fraud.scoring.ranking import RankingRules, rank, recoverable_kwh, zone_factor

NAN = float("nan")


def test_priority_is_probability_x_zone_factor_x_recoverable_x_price_minus_visit() -> None:
    p = np.array([0.5, 0.2, 0.9, 0.1])
    share = np.array([0.10, NAN, 0.0, 0.05])
    kwh = np.array([1200.0, 600.0, 100.0, 2400.0])
    rules = RankingRules(budget=3, audit_share=0.34, price_minor_per_kwh=100, visit_cost_minor=5000)
    # zone factor = clip(0.5 + share / 0.10, 0.5, 3), 1 when unknown: 1.5, 1, 0.5, 1.0
    assert zone_factor(share).tolist() == [1.5, 1.0, 0.5, 1.0]
    r = rank(p, share, kwh, rules)
    # 0.5 x 1.5 x 1200 x 100 - 5000 = 85000;  0.2 x 1 x 600 x 100 - 5000 = 7000;
    # 0.9 x 0.5 x 100 x 100 - 5000 = -500;    0.1 x 1.0 x 2400 x 100 - 5000 = 19000
    assert r.priority_minor.tolist() == [85_000, 7_000, -500, 19_000]
    assert r.rank.tolist() == [1, 3, 4, 2]
    # round(3 x 0.34) = 1 audit, drawn among rows 1 and 2; the 2 others by priority.
    assert r.selection[0] == r.selection[3] == "priority"
    assert sorted(x or "-" for x in r.selection[[1, 2]]) == ["-", "audit"]
    # Reproducible by seed.
    assert rank(p, share, kwh, rules).selection.tolist() == r.selection.tolist()
    # No audits, budget 4: a negative priority is never worth a visit.
    r = rank(p, share, kwh, RankingRules(budget=4, audit_share=0.0))
    assert r.selection.tolist() == ["priority", "priority", None, "priority"]
    # Without the zone factor (what zone gating adds is measured against this).
    r = rank(p, share, kwh, RankingRules(use_zone_factor=False))
    assert r.priority_minor.tolist() == [55_000, 7_000, 4_000, 19_000]


def test_the_balance_check() -> None:
    from fraud.scoring.ranking import balance_check

    zone = np.array([0.0, 30.0, 200.0, NAN, 50.0])
    missing = np.array([100.0, 100.0, 100.0, 100.0, 0.0])
    # 0.1 + 0.9 x clip(zone / missing, 0, 1): 0.1 + 0 = 0.1; 0.1 + 0.9 x 0.3 = 0.37;
    # 0.1 + 0.9 x 1 = 1; unknown zone: 1; nothing missing: 1.
    assert np.round(balance_check(zone, missing), 6).tolist() == [0.1, 0.37, 1.0, 1.0, 1.0]
    p, share, kwh = np.array([0.5]), np.array([0.05]), np.array([1200.0])
    # 0.5 x (1.0 x 0.37) x 1200 x 100 - 5000 = 17200
    r = rank(p, share, kwh, RankingRules(), np.array([0.37]))
    assert (r.priority_minor.tolist(), round(float(r.zone_factor[0]), 6)) == ([17_200], 0.37)


def test_recoverable_energy() -> None:
    recent = np.array([50.0, NAN, 100.0, NAN])
    baseline = np.array([150.0, 100.0, 80.0, NAN])
    peers = np.array([120.0, NAN, NAN, NAN])
    # 12 x (max(baseline, peers) - recent), nothing measured = nothing registered, >= 0:
    # 12 x (150 - 50) = 1200; 12 x (100 - 0) = 1200; 80 - 100 < 0: 0; nothing known: 0.
    assert recoverable_kwh(recent, baseline, peers, 12).tolist() == [1200.0, 1200.0, 0.0, 0.0]


def _history(kwh: np.ndarray, period: date) -> History:
    n, m = kwh.shape
    months = [add_months(period, k - m + 1) for k in range(m)]
    ones = np.ones((n, m))
    return History(
        ids=np.arange(1, n + 1, dtype=np.int64),
        months=months,
        hours=np.full(m, 720.0),
        kwh=kwh,
        actual_reads=ones,
        estimated_reads=ones * 0,
        rejected_reads=ones * 0,
        flagged_reads=ones * 0,
        transformer_id=np.ones(n),
        feeder_id=np.ones(n),
        category=np.array(["residential"] * n),
        subscribed_kva=np.full(n, 6.0),
        distance_m=np.full(n, 50.0),
        meter_removals=np.zeros(n),
        zone_ntl_share=np.full(n, 0.02),
        feeder_ntl_share=np.full(n, 0.02),
    )


def test_reasons_for_a_planted_drop() -> None:
    from fraud.scoring.reasons import explain

    period = date(2025, 12, 1)  # 24 months: January 2024 .. December 2025
    rng = np.random.default_rng(5)
    kwh = 200.0 + rng.normal(0, 4, (12, 24))
    # Usage point 1 falls from 200 to 76 kWh (62 %) from April 2025 (month 15) on.
    kwh[0] = 200.0
    kwh[0, 15:] = 76.0
    matrix = features_of(_history(kwh, period))
    reasons = explain(matrix, Scaling.fit(matrix.values), np.ones(12))
    texts = [r["text"] for r in reasons[0]]
    assert "consumption fell 62% after March 2025 while peers on the same transformer did not" in (
        texts
    )
    assert reasons[0][0]["weight"] >= reasons[0][-1]["weight"] >= 1.0
