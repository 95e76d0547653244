"""The instants a reading may carry, checked before anything is stored or partitioned.

Reads are stored in monthly partitions made on demand, so a typo such as year 9999 (or 1)
would otherwise create a partition that outlives the mistake. A read dated more than a day
ahead of the server's clock, or before 1970, is a bad line (refused with its code), never a
stored read; within the day ahead it is stored and judged ``read_in_future`` (clock skew
beyond the rule set's tolerance).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from meters.readings.errors import READ_AT_OUT_OF_BOUNDS, ReadingDateOutOfBoundsError

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=1)
_US = 1_000_000


def bounds_us() -> tuple[int, int]:
    """``[earliest, latest]`` in microseconds since the Unix epoch, as of now."""
    latest = int(time.time() * _US) + int(AHEAD.total_seconds()) * _US
    return int(EARLIEST.timestamp()) * _US, latest


def message() -> str:
    return f"read_at must fall between {EARLIEST:%Y-%m-%d} and one day from now"


def check(instant: datetime) -> None:
    """Refuse an instant outside the bounds (a single read, an estimate, a partition)."""
    lo, hi = bounds_us()
    if instant.tzinfo is None or not lo <= int(instant.timestamp() * _US) <= hi:
        raise ReadingDateOutOfBoundsError(
            message(), extra={"read_at": instant.isoformat(), "code": READ_AT_OUT_OF_BOUNDS}
        )
