"""The validation rules over a register's timeline, vectorised in numpy: the arithmetic the
judge runs on every read, single or bulk, and the unit tests pin.

A timeline is every read of a (register, installation) in order (read_at, stored before
new, source, file line): the counted reads already stored and the new ones. Each read is
compared with the one before it (or the installation's start index): advance across a
rollover, negative advance, zero, expected range from the mean daily kWh of the last
``history_reads`` reads (else the usage category's profile), meter change, same-instant
twins. Float8 arithmetic: exact enough for range checks (consumption itself is derived in
Decimal, ``meters.consumption``).

A rejected new read must not serve as the "previous" of the next one: the few timelines
holding one are judged again without it, until nothing changes (at most
``MAX_REJUDGE_PASSES``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meters.enums import ReasonCode, Severity
from meters.readings.codes import ACCEPTED, BIT, FLAGGED, REJECTED, bits_of
from meters.readings.rules import RuleParameters

MAX_REJUDGE_PASSES = 6
US_PER_DAY = 86_400e6


def advances(
    previous: np.ndarray, current: np.ndarray, capacity: np.ndarray, rollover_max_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Register advance between consecutive indexes: ``(advance, is_rollover, is_negative)``.

    A backwards step whose wrapped advance ``current + capacity - previous`` is small
    (<= fraction x capacity) is a rollover and that wrapped value is the advance: 99,870 ->
    00,130 on 5 dials = 130 + 100,000 - 99,870 = 260. A larger backwards step is a negative
    advance (reverse running, misread): its advance is NaN.
    """
    raw = np.asarray(current, dtype=float) - np.asarray(previous, dtype=float)
    wrapped = raw + capacity
    backwards = raw < 0
    is_rollover = backwards & (wrapped <= rollover_max_fraction * capacity)
    is_negative = backwards & ~is_rollover
    advance = np.where(is_rollover, wrapped, np.where(is_negative, np.nan, raw))
    return advance, is_rollover, is_negative


def expected_range(
    days: np.ndarray, rate: np.ndarray, kwh_day: np.ndarray, p: RuleParameters
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` kWh a read may add over ``days``.

    From history (``rate``: mean daily kWh of the recent reads, NaN without enough):
    ``rate x days x low_factor`` / ``high_factor`` (the high bound never below
    ``min_high_kwh``). Without history: the category's kWh/day (``kwh_day``, NaN without a
    profile) x days x ``category_high_factor``, a high bound only (a category is too coarse
    to call a low read abnormal). NaN where there is no bound.
    """
    rated = ~np.isnan(rate)
    with np.errstate(invalid="ignore"):
        by_category = np.maximum(kwh_day * days * p.category_high_factor, p.min_high_kwh)
        by_category = np.where(np.isnan(kwh_day), np.nan, by_category)
        high = np.where(rated, np.maximum(rate * days * p.high_factor, p.min_high_kwh), by_category)
        low = rate * days * p.low_factor
    return low, high


def history_rate(
    first: np.ndarray, t: np.ndarray, kwh: np.ndarray, p: RuleParameters
) -> np.ndarray:
    """Mean daily kWh of the history of each read (NaN without enough of it).

    Rows are timelines one after another (``first`` marks each timeline's first read),
    ``t`` in microseconds, ``kwh`` what each read added since the one before it. A read's
    history is the up to ``history_reads`` reads before it in its timeline; their mean
    daily kWh = kWh added after the first of them / days between it and the previous read.
    Also what a read not taken yet is expected against (``meters.readings.expected``).
    """
    n = len(t)
    has_prev = ~first
    prev_t = np.roll(t, 1)
    starts = np.flatnonzero(first)
    position = np.arange(n) - starts[np.cumsum(first) - 1]
    hist_n = np.minimum(p.history_reads, position)
    hist_kwh = np.zeros(n)
    for k in range(1, p.history_reads):
        inside = hist_n[k:] - 1 >= k
        hist_kwh[k:] += np.where(inside, kwh[:-k], 0.0)
    hist_t0 = t[np.arange(n) - hist_n]
    rated = has_prev & (hist_n >= p.min_history_reads) & (prev_t > hist_t0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rated, hist_kwh / ((prev_t - hist_t0) / US_PER_DAY), np.nan)


def statuses(codes: np.ndarray, p: RuleParameters) -> np.ndarray:
    """Each read's status code (``codes.JUDGED_STATUSES``): the worst severity among its
    reason codes decides, reject > flag > info/none (accepted)."""
    reject = bits_of(p.codes_with(Severity.REJECT))
    flag = bits_of(p.codes_with(Severity.FLAG))
    return np.where(
        (codes & reject) != 0, REJECTED, np.where((codes & flag) != 0, FLAGGED, ACCEPTED)
    ).astype(np.int8)


@dataclass
class Timeline:
    """Parallel arrays, sorted; ``segment`` identifies the (register, installation)."""

    segment: np.ndarray  # int64, >= 0 (the row of its installation)
    read_at: np.ndarray  # int64 microseconds
    value: np.ndarray  # float64
    source: np.ndarray  # int8, in PostgreSQL's text order
    is_new: np.ndarray  # bool
    capacity: np.ndarray  # float64, 10^dial_digits
    multiplier: np.ndarray
    start_index: np.ndarray
    installed_at: np.ndarray  # int64 microseconds
    kwh_day: np.ndarray  # float64, NaN without a category profile
    follows_change: np.ndarray  # bool
    pre_codes: np.ndarray  # int32, row-level codes of the new reads


def _judge_once(tl: Timeline, rows: np.ndarray, p: RuleParameters) -> tuple[np.ndarray, ...]:
    seg, t, v, src = tl.segment[rows], tl.read_at[rows], tl.value[rows], tl.source[rows]
    n = len(rows)
    first = np.ones(n, dtype=bool)
    first[1:] = seg[1:] != seg[:-1]
    has_next = np.zeros(n, dtype=bool)
    has_next[:-1] = ~first[1:]
    has_prev = ~first
    prev_t, prev_v, prev_src = np.roll(t, 1), np.roll(v, 1), np.roll(src, 1)
    same = has_prev & (prev_t == t)
    base_t = np.where(has_prev, prev_t, tl.installed_at[rows])
    previous = np.where(has_prev, prev_v, tl.start_index[rows])
    adv, rollover, _negative = advances(previous, v, tl.capacity[rows], p.rollover_max_fraction)
    adv[same] = np.nan
    no_adv = np.isnan(adv)
    days = (t - base_t) / US_PER_DAY
    kwh = np.where(no_adv, 0.0, adv) * tl.multiplier[rows]
    rate = history_rate(first, t, kwh, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = expected_range(days, rate, tl.kwh_day[rows], p)
        codes = tl.pre_codes[rows].copy()
        for code, hit in (
            (ReasonCode.DUPLICATE_TIMESTAMP, same & (src != prev_src)),
            (ReasonCode.ROLLOVER, ~same & rollover),
            (ReasonCode.NEGATIVE_ADVANCE, ~same & no_adv),
            (ReasonCode.ZERO_CONSUMPTION, adv == 0),
            (ReasonCode.OUT_OF_RANGE_HIGH, ~no_adv & (kwh > high)),
            (ReasonCode.OUT_OF_RANGE_LOW, (adv > 0) & (kwh < low)),
            (ReasonCode.METER_CHANGE_IN_PERIOD, first & tl.follows_change[rows]),
        ):
            codes |= np.where(hit, BIT[code], 0).astype(np.int32)
    return codes, base_t, has_next


def judge_timeline(tl: Timeline, p: RuleParameters) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, base_at)`` for every row of the timeline (meaningful for the new ones)."""
    reject = bits_of(p.codes_with(Severity.REJECT))
    n = len(tl.segment)
    codes = np.zeros(n, dtype=np.int32)
    base_at = np.zeros(n, dtype=np.int64)
    eligible = np.ones(n, dtype=bool)
    rows = np.arange(n)
    for passes in range(MAX_REJUDGE_PASSES + 1):
        if not len(rows):
            break
        judged, base, has_next = _judge_once(tl, rows, p)
        codes[rows], base_at[rows] = judged, base
        blocking = rows[tl.is_new[rows] & ((judged & reject) != 0) & has_next]
        if passes == MAX_REJUDGE_PASSES or not len(blocking):
            break
        eligible[blocking] = False
        # Segments holding a blocking read, by a lookup mask (segments are small
        # non-negative ids: no sort of the timeline).
        hit = np.zeros(int(tl.segment.max()) + 1, dtype=bool)
        hit[tl.segment[blocking]] = True
        rows = np.flatnonzero(eligible & hit[tl.segment])
    return codes, base_at
