"""The typed batches a reading load hands from stage to stage (parse -> resolve -> judge ->
write): columns of one load, numpy for what is computed on, Arrow strings for what is only
written back exactly as it came."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

# A load of at most this many rows is small (a handheld's batch, a single read): its keys
# travel as array and JSON parameters instead of temp tables (``resolve``, ``write``).
SMALL_LOAD_ROWS = 1_000


def is_small(rows: int) -> bool:
    """Whether a load of ``rows`` rows takes the small way (``SMALL_LOAD_ROWS``)."""
    return rows <= SMALL_LOAD_ROWS


# "No such instant" in int64 microsecond columns (an open installation's removal ...).
NO_TIME = np.iinfo(np.int64).max


@dataclass
class ParsedBatch:
    """Stage 1's output: the rows of one load, typed and checked line by line."""

    line_no: np.ndarray  # int64, as in the file (header = line 1)
    serial: pa.Array
    register: pa.Array  # register code, 'total' when the file left it out
    read_at_us: np.ndarray  # int64, microseconds since the Unix epoch, UTC
    value_text: pa.Array  # as written ('^\d{1,13}(\.\d{1,3})?$')
    value: np.ndarray  # float64
    source: np.ndarray  # int8, code in ``codes.SOURCES``
    quality: pa.Array
    reader_id: pa.Array  # text of a bigint, or null
    gps: pa.Array  # EWKT 'SRID=4326;POINT(lon lat)', or null
    photo_sha256: pa.Array  # or null

    def __len__(self) -> int:
        return len(self.line_no)


@dataclass
class Registers:
    """The distinct registers of a load (sorted by id) and, per row, which one it reads."""

    index: np.ndarray  # per row: position in ``register_id``
    register_id: np.ndarray
    meter_id: np.ndarray
    capacity: np.ndarray  # float64, 10^dial_digits
    multiplier: np.ndarray  # float64


@dataclass
class Installations:
    """Every installation of the load's meters, sorted by (register, installed_at), one
    row per (register, installation)."""

    register: np.ndarray  # position in ``Registers.register_id``
    id: np.ndarray
    usage_point_id: np.ndarray
    installed_at: np.ndarray  # int64 microseconds
    removed_at: np.ndarray  # int64 microseconds, NO_TIME while installed
    start_index: np.ndarray  # float64, NaN when unknown
    kwh_day: np.ndarray  # float64, the category profile; NaN without one
    follows_change: np.ndarray  # bool: another meter served the usage point before

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class StoredReads:
    """Reads already stored for the load's registers: within its span (duplicates and
    timelines), and the history just before it."""

    register: np.ndarray  # position in ``Registers.register_id``
    read_at: np.ndarray  # int64 microseconds
    source: np.ndarray  # int8, code in ``codes.SOURCES``
    counted: np.ndarray  # bool: accepted or flagged, not an estimate
    installation_id: np.ndarray  # -1 when none
    value: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.read_at)


@dataclass
class ResolvedBatch:
    """Stage 2's output: the rows with their registers and installations, the stored reads
    they meet, and which of them are new."""

    rows: ParsedBatch
    registers: Registers
    installations: Installations
    row_installation: np.ndarray  # per row: position in ``installations``, -1 if none
    stored: StoredReads
    fresh: np.ndarray  # bool per row: stored by no earlier load nor earlier in this one
    # Stored then new reads (positions in their concatenation) in timeline order:
    # register, instant, stored before new, source, file line.
    order: np.ndarray


@dataclass
class JudgedBatch:
    """Stage 3's output: every row's reason codes and status."""

    resolved: ResolvedBatch
    codes: np.ndarray  # int32 bit mask (``codes.BIT``)
    status: np.ndarray  # int8, code in ``codes.JUDGED_STATUSES``
    base_at: np.ndarray  # int64: the instant of the read it was judged against, else NO_TIME

    @property
    def keep(self) -> np.ndarray:
        """The rows to store: the new ones, rejected included."""
        return self.resolved.fresh
