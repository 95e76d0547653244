"""Stage 1 of a reading load, fast path: parse and type the rows in Arrow (C++, vectorised).

Every check of the exhaustive SQL typing (``meters.readings.staging``) is made here on whole
columns. Any doubt (a line that would fail one of them, a structurally broken file) returns
``None``: the caller then runs the exhaustive path, which names every bad line in the
file's own words. So this module only has to be right about clean files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from meters.readings.staging import _COORD_RE, _TIMESTAMP_RE, _VALUE_RE, CSV_COLUMNS, read_header

# Sources a file may carry, in the order PostgreSQL sorts them (the validator's tie-break).
SOURCES = ("ami", "handheld", "self_read", "estimated")
FILE_SOURCES = SOURCES[:3]
QUALITIES = ("actual", "doubtful")
_READER_RE = r"^[0-9]{1,18}$"
_PHOTO_RE = r"^[0-9a-f]{64}$"


@dataclass
class TypedRows:
    """The rows of one load, typed: numpy for what is computed on, Arrow strings for what
    is only written back (kept exactly as the file spelled it)."""

    line_no: np.ndarray  # int64, as in the file (header = line 1)
    serial: pa.Array
    register: pa.Array  # register code, 'total' when the file left it out
    read_at_us: np.ndarray  # int64, microseconds since the Unix epoch, UTC
    value_text: pa.Array
    value: np.ndarray  # float64
    source: np.ndarray  # int8 index into SOURCES
    quality: pa.Array
    reader_id: pa.Array  # text of a bigint, or null
    gps: pa.Array  # EWKT 'SRID=4326;POINT(lon lat)', or null
    photo_sha256: pa.Array  # or null

    def __len__(self) -> int:
        return len(self.line_no)


def read_csv(stream: IO[bytes]) -> pa.Table | None:
    """Every column of a reading CSV as text ('' for an empty field); ``None`` when Arrow
    cannot read it (ragged lines, bad quoting, bad UTF-8: the exhaustive path names them)."""
    header = read_header(stream.readline().decode("utf-8-sig"))
    try:
        return pa_csv.read_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=header, block_size=1 << 24),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def rows_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """In-memory rows (mappings keyed by the CSV column names) as a text table."""
    columns: dict[str, list[str]] = {c: [] for c in CSV_COLUMNS}
    for row in rows:
        for c in CSV_COLUMNS:
            v = row.get(c)
            columns[c].append("" if v is None else str(v))
    return pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})


def _column(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.repeat(pa.scalar("", pa.string()), table.num_rows)  # a column the file left out


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask).as_py()) if len(mask) else True


def _empty_or(column: pa.Array, pattern: str) -> bool:
    return _all(pc.or_(pc.equal(column, ""), pc.match_substring_regex(column, pattern)))


def type_rows(table: pa.Table) -> TypedRows | None:
    """The typed rows, or ``None`` if any line would fail a check of the exhaustive path."""
    n = table.num_rows
    serial, read_at, value = (
        _column(table, "serial"),
        _column(table, "read_at"),
        _column(table, "value"),
    )
    source, quality = _column(table, "source"), _column(table, "quality")
    reader, photo = _column(table, "reader_id"), _column(table, "photo_sha256")
    lat, lon = _column(table, "latitude"), _column(table, "longitude")
    quality = pc.if_else(pc.equal(quality, ""), "actual", quality)
    checks = (
        lambda: _all(pc.invert(pc.equal(serial, ""))),
        lambda: _all(pc.match_substring_regex(read_at, _TIMESTAMP_RE)),
        lambda: _all(pc.invert(pc.starts_with(read_at, "0000"))),
        lambda: _all(pc.match_substring_regex(value, _VALUE_RE)),
        lambda: _all(pc.is_in(source, pa.array(FILE_SOURCES))),
        lambda: _all(pc.is_in(quality, pa.array(QUALITIES))),
        lambda: _empty_or(reader, _READER_RE),
        lambda: _empty_or(photo, _PHOTO_RE),
        lambda: _all(pc.equal(pc.equal(lat, ""), pc.equal(lon, ""))),
        lambda: _empty_or(lat, _COORD_RE) and _empty_or(lon, _COORD_RE),
    )
    if not all(check() for check in checks):
        return None
    try:
        stamps = pc.cast(read_at, pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        return None  # not a real date and time: the exhaustive path says which line
    has_gps = pc.not_equal(lat, "")
    gps = pa.nulls(n, pa.string())
    if n and not _all(pc.invert(has_gps)):
        lat_f = pc.cast(pc.if_else(has_gps, lat, "0"), pa.float64())
        lon_f = pc.cast(pc.if_else(has_gps, lon, "0"), pa.float64())
        if not (_all(pc.less_equal(pc.abs(lat_f), 90)) and _all(pc.less_equal(pc.abs(lon_f), 180))):
            return None
        # Same double values as ST_MakePoint(lon::float8, lat::float8).
        point = pc.binary_join_element_wise(
            "SRID=4326;POINT(",
            pc.cast(lon_f, pa.string()),
            " ",
            pc.cast(lat_f, pa.string()),
            ")",
            "",
        )
        gps = pc.if_else(has_gps, point, pa.nulls(n, pa.string()))
    register = _column(table, "register")
    register = pc.if_else(pc.equal(register, ""), "total", register)
    null_if_empty = lambda a: pc.if_else(pc.equal(a, ""), pa.nulls(n, pa.string()), a)  # noqa: E731
    return TypedRows(
        line_no=np.arange(2, n + 2, dtype=np.int64),
        serial=serial,
        register=register,
        read_at_us=stamps.cast(pa.int64()).to_numpy(zero_copy_only=False),
        value_text=value,
        value=pc.cast(value, pa.float64()).to_numpy(zero_copy_only=False),
        source=pc.index_in(source, pa.array(SOURCES))
        .to_numpy(zero_copy_only=False)
        .astype(np.int8),
        quality=quality,
        reader_id=null_if_empty(reader),
        gps=gps,
        photo_sha256=null_if_empty(photo),
    )


def typed_from_staged(rows: list[tuple[Any, ...]]) -> TypedRows:
    """Rows typed by the exhaustive SQL path (``staging.staged_rows``) in this shape."""
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(11)]
    text = lambda i: pa.array(cols[i], pa.string())  # noqa: E731
    return TypedRows(
        line_no=np.array(cols[0], dtype=np.int64),
        serial=text(1),
        register=text(2),
        read_at_us=np.array(cols[3], dtype=np.int64),
        value_text=text(4),
        value=np.array(cols[5], dtype=np.float64),
        source=np.array([SOURCES.index(s) for s in cols[6]], dtype=np.int8),
        quality=text(7),
        reader_id=text(8),
        gps=text(9),
        photo_sha256=text(10),
    )
