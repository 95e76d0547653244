"""NaN-aware array helpers the families share (rows are usage points, columns months)."""

from __future__ import annotations

import warnings

import numpy as np

from fraud.features.matrix import Array


def nanmean(x: Array) -> Array:
    """Row means over the finite cells; NaN for a row with none (no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=1) if x.shape[1] else np.full(x.shape[0], np.nan)


def divide(a: Array, b: Array) -> Array:
    """a / b where b > 0, NaN elsewhere."""
    out = np.full(np.broadcast(a, b).shape, np.nan)
    ok = np.isfinite(a) & np.isfinite(b) & (b > 0)
    np.divide(a, b, out=out, where=ok)
    return out


def longest_run(mask: np.ndarray) -> Array:
    """Per row, the longest run of consecutive True cells."""
    run = np.zeros(mask.shape[0])
    best = np.zeros(mask.shape[0])
    for k in range(mask.shape[1]):
        run = (run + 1) * mask[:, k]
        best = np.maximum(best, run)
    return best


def masked_corr(a: Array, b: Array, minimum: int = 6) -> Array:
    """Per row, Pearson's r of a and b over the months where both are finite (NaN with
    fewer than ``minimum`` such months or a flat series)."""
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(axis=1)
    a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    ma, mb = divide(a0.sum(axis=1), n.astype(float)), divide(b0.sum(axis=1), n.astype(float))
    da, db = np.where(ok, a0 - ma[:, None], 0.0), np.where(ok, b0 - mb[:, None], 0.0)
    r = divide((da * db).sum(axis=1), np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1)))
    return np.where(n >= minimum, r, np.nan)
