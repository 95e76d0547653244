"""The feature matrix as the detectors take it: NaN replaced by the column's median (an
isolation forest and a distance cannot use NaN) with the count of missing features added
as a column, so that missingness stays a signal instead of disappearing; every column
scaled robustly (median, inter-quartile range) so that no unit dominates a distance."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np

from fraud.features.matrix import Array

MISSING_COLUMN = "missing_features"


@dataclass(frozen=True)
class Scaling:
    """Per column: the median (NaN's replacement and the centre) and the IQR (the scale)."""

    median: Array
    scale: Array

    @staticmethod
    def fit(values: Array) -> Scaling:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: median 0
            finite = np.where(np.isfinite(values), values, np.nan)
            if finite.shape[0] == 0:
                median = np.zeros(values.shape[1])
                scale = np.ones(values.shape[1])
            else:
                q = np.nanpercentile(finite, [25, 50, 75], axis=0)
                median = np.nan_to_num(q[1])
                scale = np.nan_to_num(q[2] - q[0])
            # A column with no spread (all equal, mostly zero counts): its std, or 1.
            std = np.nan_to_num(np.nanstd(finite, axis=0)) if len(finite) else median * 0
        scale = np.where(scale > 0, scale, np.where(std > 0, std, 1.0))
        return Scaling(median, scale)

    def apply(self, values: Array) -> Array:
        """(n, d) values -> (n, d + 1) detector input: scaled, NaN at 0 (the median),
        clipped to +-50 IQRs, plus the count of missing features."""
        missing = ~np.isfinite(values)
        scaled = (np.where(missing, self.median, values) - self.median) / self.scale
        return np.column_stack([np.clip(scaled, -50, 50), missing.sum(axis=1)])


def matrix_hash(x: Array, y: Array | None = None) -> str:
    """sha256 of the training matrix (and labels): the registry's training data hash."""
    digest = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    if y is not None:
        digest.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    return digest.hexdigest()
