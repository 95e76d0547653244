"""On the demo utility, the injected thieves stand apart from honest customers on the drop
and peer features. The ground truth is read here, by the test, never by the features."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM, acting_as
from fraud.features.build import build_features
from kilowatch.demo_utility.builder import build_demo_utility

SEED = 7_313
FIRST = date(2024, 1, 1)
PERIOD = date(2025, 12, 1)  # the demo's 24th month

# Usage points of the batch; "stealing" = an attack covering the last 3 months and begun
# after the first (so a drop can be seen inside the window).
TRUTH = """
SELECT usage_point_id, attack IS NOT NULL AS thief, attack, attack_from,
       attack IS NOT NULL AND attack_from > :first AND attack_from <= :recent
         AND (attack_to IS NULL OR attack_to > :period) AS dropped
FROM demo_ground_truth WHERE batch_id = :batch AND subject = 'usage_point'
"""


def test_injected_thieves_fall_and_sit_below_their_peers(db: Session) -> None:
    with acting_as(SYSTEM, request_id="test-fraud-features-demo"):
        build_demo_utility(db, customers=300, seed=SEED, first_month=FIRST)
    batch = db.scalar(text("SELECT id FROM demo_batch WHERE seed = :s"), {"s": SEED})
    truth = db.execute(
        text(TRUTH),
        {"batch": batch, "first": FIRST, "recent": date(2025, 10, 1), "period": PERIOD},
    ).all()
    ids = [int(r[0]) for r in truth]
    matrix = build_features(db, PERIOD, months=24, ids=ids)
    order = {int(u): i for i, u in enumerate(matrix.usage_point_ids)}
    rows = np.array([order[u] for u in ids])
    thief = np.array([r[1] for r in truth])
    dropped = np.array([r[4] for r in truth])
    honest = ~thief

    def col(name: str) -> np.ndarray:
        return matrix.column(name)[rows]

    # Seed 7313, 300 customers: 15 thieves, 10 of them begun inside the window and still
    # stealing in its last 3 months (others began before the data, or paused); 285 honest.
    assert (thief.sum(), dropped.sum(), honest.sum()) == (15, 10, 285)
    # Medians (thieves vs honest): recent / baseline 0.81 vs 1.00, change-point drop 0.44
    # vs 0.17, peer ratio 0.64 vs 1.01.
    ratio, change, peer = col("recent_to_baseline"), col("change_point_drop"), col("peer_ratio")
    assert np.nanmedian(ratio[dropped]) < np.nanmedian(ratio[honest]) - 0.1
    assert np.nanmedian(change[dropped]) > np.nanmedian(change[honest]) + 0.2
    assert np.nanmedian(peer[thief]) < np.nanmedian(peer[honest]) - 0.3
    # Ranked on one feature alone, a thief beats an honest customer most of the time (the
    # probability of a correct pair ordering, ROC-AUC; seed 7313: 0.89 and 0.75).
    assert _auc(change[dropped], change[honest]) > 0.8
    assert _auc(-peer[thief], -peer[honest]) > 0.65
    # A reversed meter's falling index is rejected by validation: its months go missing
    # (no drop to compute, NaN) and the missingness and rejections are the signal.
    reversed_meter = np.array([r[2] == "meter_reversed" for r in truth])
    assert reversed_meter.sum() == 1
    assert np.isnan(ratio[reversed_meter]).all()
    assert (col("rejected_reads")[reversed_meter] >= 4).all()
    assert (col("missing_months")[reversed_meter] >= 4).all()
    assert col("rejected_reads")[honest].max() == 0 and col("missing_months")[honest].max() == 0


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counting one half."""
    positive, negative = positive[np.isfinite(positive)], negative[np.isfinite(negative)]
    diff = positive[:, None] - negative[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())
