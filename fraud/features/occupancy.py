"""Honest reasons for a fall: a new occupant, and a zone balance that did not move.

A theft makes the meter register less while the load goes on, so the energy entering the
zone does not fall and its non-technical loss (NTL) rises by what the meter stopped
counting. A home left empty, rooftop panels or thriftier occupants cut the load itself:
the zone's energy in falls with it and its NTL stays where it was. And when a contract
starts at the usage point (someone moved in) a change of level in that month is the new
household's, not a tamper.
"""

from __future__ import annotations

import warnings

import numpy as np

from fraud.features.drops import _change_point
from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History
from fraud.features.stats import divide

FAMILY = "occupancy"
NEAR = 1  # months between a move-in and a change of level that it explains
MIN_BEFORE, MIN_AFTER = 3, 2  # analysable zone months needed on each side
NOISE_FLOOR_KWH = 1.0

MOVE_IN_AGE = feature(
    FAMILY,
    "move_in_age",
    "months",
    "months since the current contract started, when it started in the window (a new "
    "occupant; the last month = 1)",
)
DROP_AT_MOVE_IN = feature(
    FAMILY,
    "drop_at_move_in",
    "flag",
    "1 when the sharpest lasting change of level came within a month of a new occupant's "
    "move-in, 0 when it did not",
)
BALANCE_CONTRADICTION = feature(
    FAMILY,
    "balance_contradiction",
    "z-score",
    "how many standard errors the zone's NTL rose by less than the usage point's fall "
    "(large: the zone's energy in fell too, as for an honest cut in use; near 0 or below: "
    "the loss appeared in the zone balance, as for a theft)",
)


def compute(h: History) -> tuple[list[str], Array]:
    x = h.kwh
    n, m = x.shape
    _, age = _change_point(x)
    split = np.where(np.isfinite(age), m - np.nan_to_num(age), np.nan)  # first month after
    moved = h.move_in_month if h.move_in_month is not None else np.full(n, np.nan)
    move_age = np.where(np.isfinite(moved), m - moved, np.nan)
    at_move = np.where(
        np.isfinite(split), (np.abs(split - moved) <= NEAR).astype(np.float64), np.nan
    )
    return [MOVE_IN_AGE, DROP_AT_MOVE_IN, BALANCE_CONTRADICTION], np.column_stack(
        [move_age, at_move, _contradiction(h, split)]
    )


def _contradiction(h: History, split: Array) -> Array:
    """``(own fall - zone NTL rise) / standard error`` at each usage point's change of
    level: the rise is the median of the zone's analysable NTL months after the split
    minus that before; the error the zone's month-to-month noise (robust spread of its
    first differences / sqrt 2) times sqrt(1/months before + 1/months after)."""
    x, n = h.kwh, h.kwh.shape[0]
    out = np.full(n, np.nan)
    if h.zone_ntl_months is None or h.zone_row is None or not len(h.zone_ntl_months):
        return out
    z = h.zone_ntl_months
    m = z.shape[1]
    ok = np.isfinite(x)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(ok, x, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((n, 1)), np.cumsum(ok, axis=1)], axis=1)
    noise = np.maximum(_noise(z), NOISE_FLOOR_KWH)
    rows = h.zone_row
    for t in range(1, m):
        members = (split == t) & (rows >= 0)
        if not members.any():
            continue
        zb, za = z[:, :t], z[:, t:]
        nb, na = np.isfinite(zb).sum(axis=1), np.isfinite(za).sum(axis=1)
        with warnings.catch_warnings():  # all-NaN zones: NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            rise = np.nanmedian(za, axis=1) - np.nanmedian(zb, axis=1)
        se = noise * np.sqrt(divide(np.ones(len(z)), nb) + divide(np.ones(len(z)), na))
        usable = (nb >= MIN_BEFORE) & (na >= MIN_AFTER)
        i = np.flatnonzero(members)
        r = rows[i]
        before = divide(csum[i, t], ccnt[i, t])
        after = divide(csum[i, -1] - csum[i, t], ccnt[i, -1] - ccnt[i, t])
        value = divide(before - after - rise[r], se[r])
        out[i] = np.where(usable[r], value, np.nan)
    return out


def _noise(z: Array) -> Array:
    """Per zone, the month-to-month noise of its NTL: 1.4826 x the median absolute
    deviation of its first differences (over consecutive analysable months), / sqrt 2."""
    d = z[:, 1:] - z[:, :-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(d, axis=1)
        mad = np.nanmedian(np.abs(d - centre[:, None]), axis=1)
    return np.where(np.isfinite(mad), 1.4826 * mad / np.sqrt(2.0), np.nan)
