"""Seasonality and shape: how variable the usage point's months are, and whether they move
with its zone's (a household that stops following its neighbours' seasons is odd)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History
from fraud.features.stats import divide, masked_corr, nanmean

FAMILY = "shape"
MIN_MONTHS = 3

CV = feature(
    FAMILY,
    "coefficient_of_variation",
    "ratio",
    "standard deviation of the monthly consumption divided by its mean",
)
ZONE_CORRELATION = feature(
    FAMILY,
    "zone_correlation",
    "correlation",
    "correlation of the monthly consumption with the mean of the other customers on the "
    "same transformer (1: moves with them, 0 or less: does not)",
)


def compute(h: History) -> tuple[list[str], Array]:
    x = h.kwh
    ok = np.isfinite(x)
    mean = nanmean(x)
    var = nanmean((x - mean[:, None]) ** 2)  # population variance over measured months
    cv = np.where(ok.sum(axis=1) >= MIN_MONTHS, divide(np.sqrt(var), mean), np.nan)
    return [CV, ZONE_CORRELATION], np.column_stack([cv, masked_corr(x, _others(h))])


def _others(h: History) -> Array:
    """Per row and month, the mean of the other measured usage points on its transformer."""
    x = h.kwh
    ok = np.isfinite(x)
    keys = pd.Series(h.transformer_id).fillna(-1).to_numpy()
    codes, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros((len(codes), x.shape[1]))
    counts = np.zeros_like(sums)
    np.add.at(sums, inverse, np.where(ok, x, 0.0))
    np.add.at(counts, inverse, ok)
    rest = divide(sums[inverse] - np.where(ok, x, 0.0), counts[inverse] - ok)
    return np.where(np.isnan(h.transformer_id)[:, None], np.nan, rest)
