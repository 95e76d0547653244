"""Column helpers for the demo builder's COPY (``core.bulk``): integers and instants
(days from the window's first local midnight) in COPY's text format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np

from core.bulk import TEXT_NULL
from core.periods import local_midnight

Progress = Callable[[str, int, int], None]


def quiet(_stage: str, _done: int, _total: int) -> None:
    return None


def ints(values: np.ndarray) -> list[str]:
    return np.asarray(values, dtype=np.int64).astype(str).tolist()


def instants(first_month: date, days: np.ndarray) -> list[str]:
    """ISO 8601 UTC timestamps of ``days`` after the local midnight starting
    ``first_month`` (to the second); NaN -> NULL."""
    days = np.asarray(days, dtype=float)
    seconds = np.rint(np.nan_to_num(days) * 86400.0).astype(np.int64)
    origin = local_midnight(first_month).replace(tzinfo=None)
    stamps = np.datetime64(origin, "s") + seconds.astype("timedelta64[s]")
    out = np.char.add(stamps.astype(str), "+00")
    out = out.astype(object)
    out[np.isnan(days)] = TEXT_NULL
    return out.tolist()


def days_from(first_month: date, day: date) -> float:
    """Days (fractional across a daylight-saving change) from the window's first local
    midnight to ``day``'s."""
    return (local_midnight(day) - local_midnight(first_month)) / timedelta(days=1)
