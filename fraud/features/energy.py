"""Monthly energy of every usage point, aligned like ``fraud.alignment`` (each interval
between consecutive index points of an installation spread at a constant rate; a month
gets the share of each advance falling inside it; a month only partly covered while the
meter was fitted is scaled up to the fitted time), computed in numpy from the raw index
points streamed out of the database by COPY: the database only filters and ships the
readings (no window function, no per-interval month join), which is what a national
network's 24 months cost most.

Equal to ``series_sql.ENERGY`` (the set-based SQL form, kept as the reference the tests
compare against). Times are epoch seconds (float8), energies kWh (float8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from fraud.features import series_sql as q
from fraud.features.matrix import Array

# Fixed-width, NOT NULL columns (``core.bulk_read``): NULL times and indexes become NaN.
INST = f"""WITH {q.INSTALLATIONS}
SELECT installation_id, usage_point_id, register_id,
       date_part('epoch', installed_at),
       coalesce(date_part('epoch', removed_at), 'NaN'::float8),
       coalesce(start_index::float8, 'NaN'::float8), coalesce(end_index::float8, 'NaN'::float8),
       capacity::float8, multiplier::float8
FROM inst"""
INST_COLUMNS = {
    "installation_id": "int8",
    "usage_point_id": "int8",
    "register_id": "int8",
    "installed": "float8",
    "removed": "float8",
    "start_index": "float8",
    "end_index": "float8",
    "capacity": "float8",
    "multiplier": "float8",
}
# Every stored read of the window, whatever its outcome: the counted ones (accepted,
# flagged) make the energy, all of them the monthly read counts. ``code``: status
# (0 accepted, 1 flagged, 2 rejected, 3 superseded) + 4 when estimated. Over the whole
# network the reads are taken as stored (no join: a scan of the month partitions) and
# matched to the installations' main registers in numpy; for a few usage points, through
# their registers' index.
_READ_COLUMNS_SQL = """rd.installation_id, rd.register_id, rd.read_at, rd.value::float8,
       (CASE rd.status WHEN 'accepted' THEN 0 WHEN 'flagged' THEN 1 WHEN 'rejected' THEN 2
             ELSE 3 END + CASE WHEN rd.source = 'estimated' THEN 4 ELSE 0 END)::int2"""
READS_ALL = f"""SELECT {_READ_COLUMNS_SQL}
FROM meter_reading rd
WHERE rd.read_at >= :r_from AND rd.read_at < :r_to AND rd.installation_id IS NOT NULL"""
READS_OF_IDS = f"""WITH {q.INSTALLATIONS}
SELECT {_READ_COLUMNS_SQL}
FROM inst JOIN meter_reading rd ON rd.register_id = inst.register_id
 AND rd.installation_id = inst.installation_id
WHERE rd.read_at >= :r_from AND rd.read_at < :r_to"""
READ_COLUMNS = {
    "installation_id": "int8",
    "register_id": "int8",
    "at": "timestamptz",
    "value": "float8",
    "code": "int2",
}


def psycopg_sql(sql: str) -> str:
    """``:name`` parameters (SQLAlchemy) as ``%(name)s`` (psycopg), ``::casts`` kept."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


def read_slices(params: Mapping[str, Any], slices: int) -> list[tuple[str, dict[str, Any]]]:
    """The window's reads as ``slices`` queries over consecutive ranges of months (each
    scans its own month partitions), with their parameters."""
    edges: list[datetime] = [params["w_from"], *params["m_from"][1:], params["w_to"]]
    cut = np.unique(np.linspace(0, len(edges) - 1, max(1, slices) + 1).round().astype(int))
    sql = psycopg_sql(READS_ALL if params.get("ids") is None else READS_OF_IDS)
    return [(sql, {**params, "r_from": edges[a], "r_to": edges[b]}) for a, b in pairwise(cut)]


def monthly_energy(
    inst: Mapping[str, Any],
    reads: Mapping[str, Any],
    params: Mapping[str, Any],
    up: npt.NDArray[np.int64],
    months: int,
) -> tuple[Array, Array]:
    """(len(up), months) kWh, NaN where no meter was fitted or no interval covers the
    month; and (4, len(up), months) read counts: actual (counted, not estimated),
    estimated (counted), rejected, flagged (``series_sql.READS``). ``inst`` and ``reads``
    are the columns of ``INST`` and the read slices; ``up`` is sorted; ``params`` are
    ``series.load_history``'s."""
    bounds = np.array([t.timestamp() for t in params["m_from"]] + [params["m_to"][-1].timestamp()])
    w_from, w_to = params["w_from"].timestamp(), params["w_to"].timestamp()
    f_from, f_to = bounds[0], bounds[-1]
    col = inst
    iid = col["installation_id"]
    order = np.argsort(iid)
    iid = iid[order]
    row = np.searchsorted(up, col["usage_point_id"][order])  # usage point row of each
    installed, removed = col["installed"][order], col["removed"][order]
    capacity, multiplier = col["capacity"][order], col["multiplier"][order]

    # Only the reads of the installations' main registers, within the window.
    r_iid, r_at = reads["installation_id"], reads["at"]
    at = np.clip(np.searchsorted(iid, r_iid), 0, max(len(iid) - 1, 0))
    mine = (
        (iid[at] == r_iid) & (col["register_id"][order][at] == reads["register_id"])
        if len(iid)
        else np.zeros(len(r_iid), dtype=bool)
    )
    mine &= (r_at >= w_from) & (r_at < w_to)
    r_iid, r_at, at = r_iid[mine], r_at[mine], at[mine]
    status, estimated = reads["code"][mine] % 4, reads["code"][mine] >= 4
    counts = _counts(row[at], r_at, status, estimated, bounds, len(up))
    counted = status <= 1
    r_iid, r_value = r_iid[counted], reads["value"][mine][counted]
    r_at = r_at[counted]

    # Index points: installation (kind 0), reads (1), removal (2); ordered per installation.
    start_ok = installed >= w_from
    end_ok = np.isfinite(removed) & (removed < w_to)
    p_inst = np.concatenate([iid[start_ok], r_iid, iid[end_ok]])
    p_at = np.concatenate([installed[start_ok], r_at, removed[end_ok]])
    p_kind = np.concatenate(
        [np.zeros(start_ok.sum()), np.ones(len(r_iid)), np.full(end_ok.sum(), 2.0)]
    )
    p_value = np.concatenate(
        [
            col["start_index"][order][start_ok],
            r_value,
            col["end_index"][order][end_ok],
        ]
    )
    sort = np.lexsort((p_kind, p_at, p_inst))
    p_inst, p_at, p_value = p_inst[sort], p_at[sort], p_value[sort]
    k = np.searchsorted(iid, p_inst)  # the installation of each point

    # Intervals between consecutive points of one installation.
    same = p_inst[1:] == p_inst[:-1]
    t0, t1 = p_at[:-1][same], p_at[1:][same]
    j = k[1:][same]
    delta = p_value[1:][same] - p_value[:-1][same]
    kwh = np.where(delta >= 0, delta, delta + capacity[j]) * multiplier[j]
    keep = (t1 > t0) & (t0 < f_to) & (t1 > f_from)
    t0, t1, j, kwh = t0[keep], t1[keep], j[keep], kwh[keep]
    size = len(up) * months
    cell, overlap, spans = _spread(t0, t1, row[j], bounds)
    # The SQL's order of operations (kWh x overlap / span): whole months come out exact.
    part = np.repeat(np.nan_to_num(kwh), spans) * overlap / np.repeat(t1 - t0, spans)
    # NaN advances (an index missing) count as covered time but add no energy (SQL's sum).
    shares = np.bincount(cell, weights=part, minlength=size).reshape(len(up), months)
    covered = np.bincount(cell, weights=overlap, minlength=size).reshape(len(up), months)

    # Time each usage point had a meter fitted, per month.
    fit_end = np.where(np.isfinite(removed), removed, f_to)
    live = (installed < f_to) & (fit_end > f_from)
    cell, overlap, _ = _spread(installed[live], fit_end[live], row[live], bounds)
    fitted = np.bincount(cell, weights=overlap, minlength=size).reshape(len(up), months)
    out = np.full((len(up), months), np.nan)
    ok = (fitted > 0) & (covered > 0)
    out[ok] = shares[ok] * fitted[ok] / covered[ok]
    return out, counts


def _counts(
    rows: npt.NDArray[np.intp],
    at: Array,
    status: np.ndarray,
    estimated: np.ndarray,
    bounds: Array,
    n: int,
) -> Array:
    months = len(bounds) - 1
    inside = (at >= bounds[0]) & (at < bounds[-1])
    cell = rows * months + np.clip(np.searchsorted(bounds, at, side="right") - 1, 0, months - 1)
    counted = status <= 1
    kinds = (counted & ~estimated, counted & estimated, status == 2, status == 1)
    return np.stack(
        [
            np.bincount(cell[inside & kind], minlength=n * months).reshape(n, months)
            for kind in kinds
        ]
    ).astype(np.float64)


def _spread(
    t0: Array, t1: Array, rows: npt.NDArray[np.intp], bounds: Array
) -> tuple[npt.NDArray[np.intp], Array, npt.NDArray[np.intp]]:
    """For spans [t0, t1) owned by ``rows``: the flat (row, month) cell of each month they
    touch inside the window, the seconds of overlap, and how many months each touches."""
    months = len(bounds) - 1
    first = np.clip(np.searchsorted(bounds, t0, side="right") - 1, 0, months - 1)
    last = np.clip(np.searchsorted(bounds, t1, side="left") - 1, 0, months - 1)
    spans = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(len(t0)), spans)
    offset = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
    month = first[owner] + offset
    overlap = np.minimum(t1[owner], bounds[month + 1]) - np.maximum(t0[owner], bounds[month])
    return rows[owner] * months + month, overlap, spans
