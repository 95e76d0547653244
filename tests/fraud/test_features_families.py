"""Each feature family on a hand-made history, with the expected values worked out by hand
(formula in the comment beside each)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from fraud.features import drops, gaps, peers, quality, shape
from fraud.features.build import features_of
from fraud.features.registry import REGISTRY
from fraud.features.series import History

NAN = np.nan


def history(kwh: list[list[float]], **given: object) -> History:
    """A history of len(kwh) usage points over len(kwh[0]) months of 720 h, all on
    transformer 1, residential, 3 kVA, read once a month, unless ``given`` says otherwise."""
    x = np.array(kwh, dtype=float)
    n, m = x.shape
    fields: dict[str, object] = {
        "ids": np.arange(1, n + 1, dtype=np.int64),
        "months": [date(2024 + (k // 12), k % 12 + 1, 1) for k in range(m)],
        "hours": np.full(m, 720.0),
        "kwh": x,
        "actual_reads": np.ones((n, m)),
        "estimated_reads": np.zeros((n, m)),
        "rejected_reads": np.zeros((n, m)),
        "flagged_reads": np.zeros((n, m)),
        "transformer_id": np.ones(n),
        "feeder_id": np.ones(n),
        "category": np.array(["residential"] * n),
        "subscribed_kva": np.full(n, 3.0),
        "distance_m": np.full(n, NAN),
        "meter_removals": np.zeros(n),
        "zone_ntl_share": np.full(n, NAN),
        "feeder_ntl_share": np.full(n, NAN),
    }
    fields.update(given)
    return History(**fields)  # type: ignore[arg-type]


def test_drops_and_change_points() -> None:
    thief = [100.0] * 12 + [40.0] * 3
    rising = [100.0] * 5 + [NAN] + [100.0] * 8 + [150.0]
    names, values = drops.compute(history([thief, rising, [NAN] * 15]))
    got = dict(zip(names, values.T, strict=True))
    # thief: mean(40,40,40) / mean(12 x 100) = 0.4; largest fall (100 - 40) / 100 = 0.6;
    # best split after month 12: (100 - 40) / 100 = 0.6, 15 - 12 = 3 months ago.
    # rising: mean(100,100,150) / mean(100 x 11 measured) = 350 / 300; never falls: 0;
    # the split losing most is after month 3: before 100, after (10 x 100 + 150) / 11,
    # (100 - 104.5454) / 100 = -1/22, 15 - 3 = 12 months ago.
    assert got["recent_to_baseline"][:2] == pytest.approx([0.4, 350 / 300])
    assert got["largest_monthly_drop"][:2] == pytest.approx([0.6, 0.0])
    assert got["change_point_drop"][:2] == pytest.approx([0.6, -1 / 22])
    assert got["change_point_age"][:2].tolist() == [3, 12]
    # Nothing measured: nothing computed (NaN, not 0).
    assert np.isnan(values[2]).all()


def test_peer_ratios_and_subscribed_power() -> None:
    # Four residential customers of transformer 1 (recent means 10, 20, 30, 40: median 25,
    # baseline 20 each), one commercial on it alone, one on no transformer.
    rows = [[20.0] * 12 + [v] * 3 for v in (10, 20, 30, 40, 50, 60)]
    h = history(
        rows,
        transformer_id=np.array([1, 1, 1, 1, 1, NAN]),
        category=np.array(["residential"] * 4 + ["commercial", "residential"]),
    )
    names, values = peers.compute(h)
    got = dict(zip(names, values.T, strict=True))
    # recent / 25
    assert got["peer_ratio"][:4] == pytest.approx([0.4, 0.8, 1.2, 1.6])
    assert got["peer_ratio_baseline"][:4] == pytest.approx([1.0] * 4)  # 20 / median 20
    # alone in its group (1 < 3 peers) or on no transformer: no norm
    assert np.isnan(got["peer_ratio"][4:]).all()
    assert got["peer_count"][:5].tolist() == [4, 4, 4, 4, 1]
    assert np.isnan(got["peer_count"][5])
    # 3 x 10 kWh over 3 x 720 h = 0.013889 kW, / 3 kVA
    assert got["subscribed_power_use"][0] == pytest.approx(30 / 2160 / 3)


def test_zero_and_missing_patterns() -> None:
    h = history(
        [[5, 0, 0, NAN, NAN, NAN, 0.2, 7]],
        actual_reads=np.array([[1, 0, 0, 0, 1, 0, 0, 1]], dtype=float),
    )
    names, values = gaps.compute(h)
    # zero (< 0.5 kWh): months 2, 3, 7 (run of 2); missing: 4-6 (run of 3);
    # without a real read: months 2, 3, 4, 6, 7 (run of 3).
    assert dict(zip(names, values[0].tolist(), strict=True)) == {
        "zero_months": 3,
        "longest_zero_run": 2,
        "missing_months": 3,
        "longest_missing_run": 3,
        "unread_months": 5,
        "longest_unread_run": 3,
    }


def test_shape_statistics() -> None:
    up = [1.0, 2, 3, 4, 5, 6]
    h = history([up, [2 * v for v in up], up[::-1], [10, 20, 30, NAN, NAN, NAN]])
    h = history(
        h.kwh.tolist(), transformer_id=np.array([1, 1, 1, 2])
    )  # the last one alone on transformer 2
    names, values = shape.compute(h)
    got = dict(zip(names, values.T, strict=True))
    # mean 20, population variance (100 + 0 + 100) / 3: cv = sqrt(200 / 3) / 20
    assert got["coefficient_of_variation"][3] == pytest.approx(np.sqrt(200 / 3) / 20)
    # 1..6 against the mean of 2..12 and 6..1 (4, 4.5, ... 6.5): r = 1; 6..1 against the
    # mean of 1..6 and 2..12 (1.5, 3, ... 9): r = -1; 2..12 against a flat 3.5: none.
    assert got["zone_correlation"][0] == pytest.approx(1.0)
    assert got["zone_correlation"][2] == pytest.approx(-1.0)
    assert np.isnan(got["zone_correlation"][1])
    assert np.isnan(got["zone_correlation"][3])  # no other customer on its transformer


def test_read_quality_and_meter_changes() -> None:
    h = history(
        [[1.0, 1.0, 1.0]],
        estimated_reads=np.array([[1.0, 0, 2]]),
        rejected_reads=np.array([[0.0, 1, 0]]),
        flagged_reads=np.array([[1.0, 1, 1]]),
        meter_removals=np.array([1.0]),
    )
    names, values = quality.compute(h)
    assert dict(zip(names, values[0].tolist(), strict=True)) == {
        "estimated_reads": 3,
        "rejected_reads": 1,
        "flagged_reads": 3,
        "meter_changes": 1,
    }


def test_every_column_is_documented() -> None:
    matrix = features_of(history([[10.0] * 15, [12.0] * 15, [11.0] * 15]))
    assert len(matrix.columns) == len(set(matrix.columns)) == matrix.values.shape[1]
    for name in matrix.columns:
        entry = REGISTRY[name]
        assert entry.unit and len(entry.meaning) > 20
    assert matrix.periods == [date(2025, 3, 1)] * 3
    assert matrix.row(2)["peer_ratio"] == pytest.approx(12 / 11)
