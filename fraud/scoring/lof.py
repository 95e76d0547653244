"""The local outlier factor within each transformer zone, for every zone at once.

Breunig et al. (2000), as ``sklearn.neighbors.LocalOutlierFactor`` computes it (Euclidean,
``k`` neighbours, the point itself excluded): k-distance, reachability distance
``max(k-distance(o), d(p, o))``, local reachability density ``1 / mean reachability``, and
``LOF(p) = mean(lrd(o)) / lrd(p)`` over p's k neighbours. A zone is a few dozen usage
points, so instead of one fit per zone (tens of thousands of fits for a national network)
zones of similar size are padded into one (zones, size, size) distance tensor and solved
together in numpy. A zone with fewer than ``k + 2`` members has no LOF (NaN).
"""

from __future__ import annotations

import numpy as np

from fraud.features.matrix import Array

CELLS = 20_000_000  # distance cells per batch (160 MB of float64)


def zone_lof(x: Array, zone: Array, k: int = 10) -> Array:
    """LOF of each row of ``x`` among the rows with the same ``zone`` (NaN zone: none).
    ``k`` is capped at the zone's size - 1; scores around 1 are inliers, larger outliers."""
    out = np.full(len(x), np.nan)
    keys = np.where(np.isfinite(zone), zone, np.nan)
    valid = np.flatnonzero(np.isfinite(keys))
    if len(valid) == 0:
        return out
    _codes, inverse, counts = np.unique(keys[valid], return_inverse=True, return_counts=True)
    big = counts[inverse] >= k + 2  # smaller zones have no LOF
    valid, inverse = valid[big], inverse[big]
    if len(valid) == 0:
        return out
    order = np.lexsort((inverse, counts[inverse]))  # rows by zone size, each zone together
    rows = valid[order]
    group = inverse[order]
    sizes = counts[group]
    start = 0
    while start < len(rows):
        size = int(sizes[start])
        # Rows of zones of about this size (up to 1.25 x padding), in whole zones.
        limit = int(size * 1.25) + 1
        per_batch = max(1, CELLS // max(1, limit * limit))
        end = start
        zones_taken = 0
        while end < len(rows) and sizes[end] <= limit and zones_taken < per_batch:
            end += int(sizes[end])
            zones_taken += 1
        _batch(x, rows[start:end], group[start:end], k, out)
        start = end
    return out


def _batch(x: Array, rows: np.ndarray, group: np.ndarray, k: int, out: Array) -> None:
    _, first, local, size = np.unique(
        group, return_index=True, return_inverse=True, return_counts=True
    )
    g, s = len(size), int(size.max())
    slot = np.arange(len(rows)) - first[local]  # each zone's rows are contiguous
    pad = np.zeros((g, s, x.shape[1]))
    present = np.zeros((g, s), dtype=bool)
    pad[local, slot] = x[rows]
    present[local, slot] = True
    sq = (pad**2).sum(axis=2)
    d2 = sq[:, :, None] + sq[:, None, :] - 2.0 * np.einsum("gid,gjd->gij", pad, pad)
    dist = np.sqrt(np.clip(d2, 0.0, None))
    # Absent slots and the point itself are never neighbours.
    dist = np.where(present[:, None, :], dist, np.inf)
    idx = np.arange(s)
    dist[:, idx, idx] = np.inf
    kk = np.clip(size - 1, 1, k)  # per zone
    order = np.argsort(dist, axis=2)[:, :, :k]  # up to k nearest
    near = np.take_along_axis(dist, order, axis=2)
    use = np.arange(k)[None, None, :] < kk[:, None, None]
    # k-distance: the distance to the kk-th neighbour.
    kdist = np.take_along_axis(near, (kk - 1)[:, None, None].repeat(s, axis=1), axis=2)[..., 0]
    neighbour_kdist = np.take_along_axis(kdist[:, None, :].repeat(s, axis=1), order, axis=2)
    reach = np.maximum(neighbour_kdist, near)
    mean_reach = np.where(use, reach, 0.0).sum(axis=2) / kk[:, None]
    # sklearn adds 1e-10 to the mean reachability: duplicates get a finite density.
    lrd = 1.0 / (mean_reach + 1e-10)
    neighbour_lrd = np.take_along_axis(lrd[:, None, :].repeat(s, axis=1), order, axis=2)
    lof = np.where(use, neighbour_lrd, 0.0).sum(axis=2) / kk[:, None] / lrd
    out[rows] = lof[local, slot]
