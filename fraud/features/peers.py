"""Consumption against what the connection allows and against the neighbours: the usage
points on the same transformer with the same category."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud.features.drops import BASELINE, RECENT
from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History
from fraud.features.stats import divide, nanmean

FAMILY = "peers"
MIN_PEERS = 3  # a median of fewer is no norm

LOAD_FACTOR = feature(
    FAMILY,
    "subscribed_power_use",
    "kW per kVA",
    "mean power drawn over the last 3 months divided by the subscribed power",
)
PEER_RATIO = feature(
    FAMILY,
    "peer_ratio",
    "ratio",
    "mean consumption of the last 3 months divided by the median of the customers of the "
    "same category on the same transformer (itself included)",
)
PEER_RATIO_BASELINE = feature(
    FAMILY,
    "peer_ratio_baseline",
    "ratio",
    "the same ratio over the 12 months before the last 3",
)
PEER_COUNT = feature(
    FAMILY,
    "peer_count",
    "usage points",
    "customers of the same category on the same transformer with a measured consumption",
)


def compute(h: History) -> tuple[list[str], Array]:
    x = h.kwh
    last = x[:, -RECENT:]
    hours = np.where(np.isfinite(last), h.hours[-RECENT:], 0.0).sum(axis=1)
    mean_kw = divide(np.nansum(last, axis=1), hours)
    recent = nanmean(last)
    baseline = nanmean(x[:, -RECENT - BASELINE : -RECENT])
    recent_median, count = _peer_median(h, recent)
    baseline_median, _ = _peer_median(h, baseline)
    return [LOAD_FACTOR, PEER_RATIO, PEER_RATIO_BASELINE, PEER_COUNT], np.column_stack(
        [
            divide(mean_kw, h.subscribed_kva),
            divide(recent, recent_median),
            divide(baseline, baseline_median),
            count,
        ]
    )


def _peer_median(h: History, value: Array) -> tuple[Array, Array]:
    """Median of ``value`` over each row's (transformer, category) group, NaN for a row
    without a transformer or in a group of fewer than MIN_PEERS measured members."""
    frame = pd.DataFrame({"t": h.transformer_id, "c": h.category, "v": value})
    groups = frame.groupby(["t", "c"], dropna=True)["v"]
    median = groups.transform("median").to_numpy(dtype=float)
    count = groups.transform("count").to_numpy(dtype=float)
    count = np.where(np.isnan(h.transformer_id), np.nan, count)
    return np.where(count >= MIN_PEERS, median, np.nan), count


def peer_median(h: History, value: Array) -> tuple[Array, Array]:
    """Median of ``value`` over each row's (transformer, category) peers, and their count
    (NaN median in a group of fewer than ``MIN_PEERS``)."""
    return _peer_median(h, value)
