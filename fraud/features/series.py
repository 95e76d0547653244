"""A window of monthly history per usage point, loaded set-based (four statements).

``kwh[i, k]`` is usage point i's aligned energy in month k (NaN: no interval covers the
month, i.e. no read on either side, or no meter fitted); the count matrices hold its reads
per month by outcome. Months are local calendar months (``core.periods``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.periods import Period, add_months
from core.settings import get_settings
from fraud.alignment import WINDOW_DAYS
from fraud.features import series_sql as q
from fraud.features.energy import monthly_energy
from fraud.features.matrix import Array


@dataclass(frozen=True)
class History:
    """Months ``months[0] .. months[-1]`` (the period scored is the last) of ``ids``."""

    ids: npt.NDArray[np.int64]
    months: list[date]
    hours: Array  # length of each month in hours
    kwh: Array  # n x m, NaN = not measured
    actual_reads: Array  # n x m counts of counted, non-estimated reads
    estimated_reads: Array
    rejected_reads: Array
    flagged_reads: Array
    transformer_id: Array  # NaN when the premises hang on no transformer
    feeder_id: Array
    category: npt.NDArray[np.str_]
    subscribed_kva: Array
    distance_m: Array
    meter_removals: Array
    zone_ntl_share: Array  # the transformer zone's NTL share (``series_sql.ZONE_NTL``)
    feeder_ntl_share: Array
    # The transformer zone's NTL in kWh a month (same months; NaN: not analysable).
    zone_ntl_kwh: Array | None = None


def _srid() -> int:
    return int(get_settings().projected_crs.split(":")[1])


def load_history(
    session: Session,
    period: date,
    months: int = 24,
    ids: Sequence[int] | None = None,
    timings: dict[str, float] | None = None,
) -> History:
    """The ``months`` months ending with ``period``'s month of every usage point with a
    main meter fitted in that window (or of ``ids``); seconds per statement go in
    ``timings`` when given."""
    clock = _Clock(timings)
    firsts = [add_months(period.replace(day=1), k - months + 1) for k in range(months)]
    bounds = [Period.month(m).bounds_utc() for m in firsts]
    f_from, f_to = bounds[0][0], bounds[-1][1]
    window = timedelta(days=WINDOW_DAYS)
    params = {
        "m_from": [b[0] for b in bounds],
        "m_to": [b[1] for b in bounds],
        "w_from": f_from - window,
        "w_to": f_to + window,
        "f_from": f_from,
        "f_to": f_to,
        "ids": list(ids) if ids is not None else None,
        "srid": _srid(),
        "period": firsts[-1],
        "tz": get_settings().timezone,
        "base": firsts[0].year * 12 + firsts[0].month,
        "months": months,
    }
    # A whole network's months are aggregated in one pass: room to hash them in memory.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    attrs = session.execute(text(q.ATTRIBUTES), params).all()
    clock.lap("attributes")
    up = np.array([a[0] for a in attrs], dtype=np.int64)

    def col(j: int) -> Array:
        return np.array([np.nan if a[j] is None else a[j] for a in attrs], dtype=np.float64)

    # One stream of the window's reads gives both the energy and the read counts.
    kwh, counts = monthly_energy(session, params, up, months)
    clock.lap("energy_and_reads")
    transformer, feeder = col(1), col(2)
    t_ntl: dict[int, float] = {}
    f_ntl: dict[int, float] = {}
    t_kwh: dict[int, float] = {}
    for t, f, share, ntl_kwh in session.execute(text(q.ZONE_NTL), params):
        target, key = (t_ntl, t) if t is not None else (f_ntl, f)
        target[int(key)] = np.nan if share is None else share
        if t is not None:
            t_kwh[int(t)] = np.nan if ntl_kwh is None else ntl_kwh
    clock.lap("zones")
    return History(
        ids=up,
        months=firsts,
        hours=np.array([24.0 * Period.month(m).days for m in firsts]),
        kwh=kwh,
        actual_reads=counts[0],
        estimated_reads=counts[1],
        rejected_reads=counts[2],
        flagged_reads=counts[3],
        transformer_id=transformer,
        feeder_id=feeder,
        category=np.array([a[3] or "" for a in attrs], dtype=np.str_),
        subscribed_kva=col(4),
        distance_m=col(5),
        meter_removals=col(6),
        zone_ntl_share=_lookup(transformer, t_ntl),
        feeder_ntl_share=_lookup(feeder, f_ntl),
        zone_ntl_kwh=_lookup(transformer, t_kwh),
    )


class _Clock:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.at = timings, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[step] = round(now - self.at, 3)
        self.at = now


def _lookup(keys: Array, values: dict[int, float]) -> Array:
    return np.array([np.nan if np.isnan(k) else values.get(int(k), np.nan) for k in keys])
