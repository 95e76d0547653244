"""The occupancy family (a move-in at the fall, a zone balance that did not move with it)
and the honest explanation that lowers the unsupervised rank, on hand-made histories."""

from __future__ import annotations

import numpy as np
import pytest

from fraud.features import occupancy
from fraud.features.matrix import FeatureMatrix
from fraud.scoring import detectors
from tests.fraud.test_features_families import NAN, history

# 8 months; every usage point on transformer 1, whose NTL is given month by month.
FALL = [100.0] * 4 + [20.0] * 4  # falls by 80 kWh after month 4 (split t = 4)
FLAT = [100.0] * 8


def _zone(ntl: list[float], n: int = 1) -> dict[str, object]:
    return {"zone_ntl_months": np.array([ntl]), "zone_row": np.zeros(n, dtype=np.intp)}


def test_move_in_at_the_fall_and_its_age() -> None:
    moved = np.array([4.0, NAN, 1.0])
    h = history([FALL, FALL, FLAT], move_in_month=moved, **_zone([0.0] * 8, 3))
    names, values = occupancy.compute(h)
    got = dict(zip(names, values.T, strict=True))
    # Move-in in month 4 of 8: 8 - 4 = 4 months ago; month 1: 7 ago; none: NaN.
    assert got["move_in_age"][[0, 2]].tolist() == [4.0, 7.0] and np.isnan(got["move_in_age"][1])
    # FALL's best split (3 months each side at least) is month 4: (100 - 20) / 100 = 0.8
    # beats month 3 (100 vs 36) and 5 (84 vs 20); |4 - 4| <= 1: explained by the move-in.
    # The same fall without a move-in: 0. FLAT: every split scores 0, the first (month 3)
    # is kept; |3 - 1| = 2 > 1: 0.
    assert got["drop_at_move_in"].tolist() == [1.0, 0.0, 0.0]


def test_balance_contradiction_is_a_z_score_of_the_missing_rise() -> None:
    # The zone's NTL alternates 10, 14 before and after the split: no rise. First
    # differences [4,-4,4,-4,4,-4,4]: median 4, |d - 4| = [0,8,0,8,0,8,0], MAD 0 -> the
    # noise floor, 1 kWh. Rise = median(10,14,10,14) - median(10,14,10,14) = 0.
    # se = 1 x sqrt(1/4 + 1/4) = sqrt(0.5); own fall 100 - 20 = 80 -> z = 80 / sqrt(0.5).
    quiet = [10.0, 14.0] * 4
    # A zone whose NTL rose by the fall: 10 x 4 then 90 x 4: diffs [0,0,0,80,0,0,0], MAD 0,
    # noise floor 1; rise 80 -> z = (80 - 80) / sqrt(0.5) = 0.
    names, values = occupancy.compute(history([FALL], **_zone(quiet)))
    z_honest = values[0, names.index("balance_contradiction")]
    names, values = occupancy.compute(history([FALL], **_zone([10.0] * 4 + [90.0] * 4)))
    z_thief = values[0, names.index("balance_contradiction")]
    assert z_honest == pytest.approx(80 / np.sqrt(0.5))
    assert z_thief == pytest.approx(0.0)
    # Too few analysable zone months after the split (fewer than 2): not computed.
    names, values = occupancy.compute(history([FALL], **_zone([10.0] * 5 + [NAN] * 3)))
    assert np.isnan(values[0, names.index("balance_contradiction")])


def test_honest_explanation_lowers_the_rank_but_not_to_zero() -> None:
    cols = ["drop_at_move_in", "balance_contradiction"]
    values = np.array([[1.0, NAN], [0.0, 2.0], [0.0, 5.0], [NAN, NAN], [0.0, -3.0]])
    m = FeatureMatrix(values, cols, np.arange(5, dtype=np.int64), [])
    # move-in: 1; z 2 -> (2 - 1) / 2 = 0.5; z 5 -> clipped to 1; nothing known: 0; z < 1: 0.
    e = detectors.honest_explanation(m)
    assert e.tolist() == [1.0, 0.5, 1.0, 0.0, 0.0]
    # rank x (1 - 0.7 x explanation): 0.8 -> 0.24, 0.8 x 0.65 = 0.52.
    assert detectors.explained(np.full(5, 0.8), e).tolist() == pytest.approx(
        [0.24, 0.52, 0.24, 0.8, 0.8]
    )
