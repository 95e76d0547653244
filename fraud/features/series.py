"""A window of monthly history per usage point, loaded set-based (four statements).

``kwh[i, k]`` is usage point i's aligned energy in month k (NaN: no interval covers the
month, i.e. no read on either side, or no meter fitted); the count matrices hold its reads
per month by outcome. Months are local calendar months (``core.periods``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk_read import read_parallel
from core.periods import Period, add_months
from core.settings import get_settings
from customers.enums import UsageCategory
from fraud.alignment import WINDOW_DAYS
from fraud.features import series_sql as q
from fraud.features.energy import (
    INST,
    INST_COLUMNS,
    READ_COLUMNS,
    monthly_energy,
    psycopg_sql,
    read_slices,
)
from fraud.features.matrix import Array

# Reads are streamed in this many slices of months, on as many connections.
_READ_SLICES = max(2, os.cpu_count() or 2)
_CATEGORIES = [c.value for c in UsageCategory]


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
    # Window month of the latest contract started at the usage point (NaN: none started).
    move_in_month: Array | None = None
    # Each transformer zone's NTL kWh month by month (rows: ``zone_ids``; NaN: not
    # analysable), and each usage point's row there (-1: no zone with a balance).
    zone_ntl_months: Array | None = None
    zone_row: npt.NDArray[np.intp] | None = None


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
        "first": firsts[0],
    }
    # The installations, the usage points' attributes and the reads (in slices of months)
    # are read at once on several connections sharing this transaction's snapshot.
    slices = read_slices(params, _READ_SLICES)
    sql_params = {**params, "categories": _CATEGORIES}
    inst, attrs, moves, *parts = read_parallel(
        session,
        [
            (psycopg_sql(INST), params, INST_COLUMNS),
            (psycopg_sql(q.ATTRIBUTES), sql_params, q.ATTRIBUTE_COLUMNS),
            (psycopg_sql(q.MOVE_INS), params, q.MOVE_IN_COLUMNS),
            *[(sql, p, READ_COLUMNS) for sql, p in slices],
        ],
    )
    clock.lap("read")
    # The usage points with a main meter fitted in the window, in id order.
    up = np.unique(inst["usage_point_id"])
    by_id = np.argsort(attrs["id"])
    at = by_id[np.searchsorted(attrs["id"][by_id], up)]
    reads = {k: np.concatenate([part[k] for part in parts]) for k in READ_COLUMNS}
    kwh, counts = monthly_energy(inst, reads, params, up, months)
    clock.lap("energy_and_reads")

    def col(name: str) -> Array:
        return np.asarray(attrs[name][at], dtype=np.float64)

    transformer = np.where(col("transformer_id") < 0, np.nan, col("transformer_id"))
    feeder = np.where(col("feeder_id") < 0, np.nan, col("feeder_id"))
    names = np.array(["", *_CATEGORIES], dtype=np.str_)
    removed = inst["removed"]
    removal = (removed >= f_from.timestamp()) & (removed < f_to.timestamp())
    removals = np.bincount(
        np.searchsorted(up, inst["usage_point_id"][removal]), minlength=len(up)
    ).astype(np.float64)
    t_ntl: dict[int, float] = {}
    f_ntl: dict[int, float] = {}
    t_kwh: dict[int, float] = {}
    for t, f, share, ntl_kwh in session.execute(text(q.ZONE_NTL), params):
        target, key = (t_ntl, t) if t is not None else (f_ntl, f)
        target[int(key)] = np.nan if share is None else share
        if t is not None:
            t_kwh[int(t)] = np.nan if ntl_kwh is None else ntl_kwh
    zone_months, zone_row = _zone_months(session, params, transformer, months)
    move_in = np.full(len(up), np.nan)
    known = np.isin(moves["usage_point_id"], up)
    move_in[np.searchsorted(up, moves["usage_point_id"][known])] = moves["month"][known]
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
        category=names[attrs["category"][at]],
        subscribed_kva=col("subscribed_kva"),
        distance_m=_distance_m(col("x"), col("y"), col("t_x"), col("t_y")),
        meter_removals=removals,
        zone_ntl_share=_lookup(transformer, t_ntl),
        feeder_ntl_share=_lookup(feeder, f_ntl),
        zone_ntl_kwh=_lookup(transformer, t_kwh),
        move_in_month=move_in,
        zone_ntl_months=zone_months,
        zone_row=zone_row,
    )


def _zone_months(
    session: Session, params: dict[str, object], transformer: Array, months: int
) -> tuple[Array, npt.NDArray[np.intp]]:
    rows = session.execute(text(q.ZONE_NTL_MONTHS), params).all()
    zones = np.unique(np.array([r[0] for r in rows], dtype=np.float64))
    table = np.full((len(zones), months), np.nan)
    for t, k, kwh in rows:
        table[np.searchsorted(zones, t), k] = kwh
    at = np.clip(np.searchsorted(zones, transformer), 0, max(len(zones) - 1, 0))
    hit = (zones[at] == transformer) if len(zones) else np.zeros(len(transformer), bool)
    return table, np.where(hit, at, -1)


class _Clock:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.at = timings, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[step] = round(now - self.at, 3)
        self.at = now


def _lookup(keys: Array, values: dict[int, float]) -> Array:
    """``values[key]`` per row (NaN for a NaN key or one without a value)."""
    out = np.full(len(keys), np.nan)
    if not values:
        return out
    known = np.array(sorted(values), dtype=np.float64)
    found = np.array([values[int(k)] for k in known], dtype=np.float64)
    at = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
    hit = known[at] == keys  # False for NaN keys
    out[hit] = found[at[hit]]
    return out


def _distance_m(x: Array, y: Array, t_x: Array, t_y: Array) -> Array:
    """Metres between two EPSG:4326 points (longitude, latitude), measured in the
    deployment's projected CRS (what ``ST_Distance(ST_Transform(..))`` gives); NaN when
    either is unknown."""
    to_metres = Transformer.from_crs("EPSG:4326", get_settings().projected_crs, always_xy=True)
    ax, ay = to_metres.transform(x, y)
    bx, by = to_metres.transform(t_x, t_y)
    return np.asarray(np.hypot(np.asarray(ax) - bx, np.asarray(ay) - by), dtype=np.float64)
