"""Drops and change points: has the usage point's consumption fallen, and when?"""

from __future__ import annotations

import numpy as np

from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History
from fraud.features.stats import divide, nanmean

FAMILY = "drops"
RECENT, BASELINE, SIDE = 3, 12, 3  # months

RECENT_TO_BASELINE = feature(
    FAMILY,
    "recent_to_baseline",
    "ratio",
    "mean consumption of the last 3 months divided by that of the 12 months before",
)
LARGEST_DROP = feature(
    FAMILY,
    "largest_monthly_drop",
    "share",
    "largest fall from one month to the next, as a share of the earlier month",
)
CHANGE_DROP = feature(
    FAMILY,
    "change_point_drop",
    "share",
    "share of the earlier consumption level lost after the sharpest lasting level change",
)
CHANGE_AGE = feature(
    FAMILY, "change_point_age", "months", "months since that level change (the last month = 1)"
)


def compute(h: History) -> tuple[list[str], Array]:
    x = h.kwh
    recent = nanmean(x[:, -RECENT:])
    baseline = nanmean(x[:, -RECENT - BASELINE : -RECENT])
    prev, cur = x[:, :-1], x[:, 1:]
    fall = divide(prev - cur, prev)  # NaN where either month is missing or prev is 0
    largest = np.clip(np.fmax.reduce(fall, axis=1), 0, None)  # fmax skips NaN; a rise: 0
    drop, age = _change_point(x)
    return [RECENT_TO_BASELINE, LARGEST_DROP, CHANGE_DROP, CHANGE_AGE], np.column_stack(
        [divide(recent, baseline), largest, drop, age]
    )


def _change_point(x: Array) -> tuple[Array, Array]:
    """For every split t with at least ``SIDE`` measured months on each side:
    ``(mean before - mean after) / mean before``; the largest and its age ``m - t``."""
    n, m = x.shape
    ok = np.isfinite(x)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(ok, x, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((n, 1)), np.cumsum(ok, axis=1)], axis=1)
    best = np.full(n, np.nan)
    age = np.full(n, np.nan)
    for t in range(1, m):
        nb, na = ccnt[:, t], ccnt[:, m] - ccnt[:, t]
        before = divide(csum[:, t], nb)
        after = divide(csum[:, m] - csum[:, t], na)
        score = np.where((nb >= SIDE) & (na >= SIDE), divide(before - after, before), np.nan)
        better = np.isfinite(score) & ~(score <= best)  # NaN best: any score wins
        best = np.where(better, score, best)
        age = np.where(better, m - t, age)
    return best, age
