"""Stage 1 of a reading load: parse and type the rows (parse -> resolve -> judge -> write).

The fast path types whole columns in Arrow (C++, vectorised), making every check of the
exhaustive path. Any doubt (a line that would fail one of them, a structurally broken file)
hands the load to the exhaustive path (``meters.readings.parse_exhaustive``), which types it
line by line in SQL and refuses it naming every bad line in the file's own words. So the
fast path only has to be right about clean files.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy.orm import Session

from meters.readings import bounds, parse_exhaustive
from meters.readings.batches import ParsedBatch
from meters.readings.codes import FILE_QUALITIES, FILE_SOURCES, SOURCES
from meters.readings.columns import (
    COORD_RE,
    CSV_COLUMNS,
    PHOTO_RE,
    READER_RE,
    TIMESTAMP_RE,
    VALUE_RE,
    ProgressCallback,
    read_header,
)


def parse_csv(
    session: Session,
    stream: IO[bytes],
    *,
    total_bytes: int = 0,
    on_progress: ProgressCallback | None = None,
) -> ParsedBatch:
    """A reading CSV (header: serial, read_at, value, source, and optionally register,
    quality, reader_id, latitude, longitude, photo_sha256) as a typed batch, or refused."""
    if not stream.seekable():  # a doubted file is read a second time, by COPY
        stream = io.BytesIO(stream.read())
    start = stream.tell()
    table = _read_csv(stream)
    if on_progress:
        on_progress("copy", total_bytes, total_bytes)
    parsed = _typed(table) if table is not None else None
    if parsed is not None:
        return parsed
    stream.seek(start)
    parse_exhaustive.stage_csv(session, stream, None, total_bytes)
    return parse_exhaustive.parse_staged(session)


def parse_rows(session: Session, rows: Iterable[Mapping[str, Any]]) -> ParsedBatch:
    """In-memory rows (mappings with the CSV column names; ``read_at`` an aware datetime or
    ISO text) as a typed batch, or refused like a file."""
    listed = [_as_text(r) for r in rows]
    columns: dict[str, list[str]] = {c: [] for c in CSV_COLUMNS}
    for row in listed:
        for c in CSV_COLUMNS:
            v = row.get(c)
            columns[c].append("" if v is None else str(v))
    parsed = _typed(pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()}))
    if parsed is not None:
        return parsed
    parse_exhaustive.stage_rows(session, listed)
    return parse_exhaustive.parse_staged(session)


def _as_text(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    read_at = out.get("read_at")
    if hasattr(read_at, "isoformat"):
        out["read_at"] = read_at.isoformat()
    return out


def _read_csv(stream: IO[bytes]) -> pa.Table | None:
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


def _column(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return table.column(name).combine_chunks()
    return pa.repeat(pa.scalar("", pa.string()), table.num_rows)  # a column the file left out


def _all(mask: pa.Array) -> bool:
    return bool(pc.all(mask).as_py()) if len(mask) else True


def _empty_or(column: pa.Array, pattern: str) -> bool:
    return _all(pc.or_(pc.equal(column, ""), pc.match_substring_regex(column, pattern)))


def _typed(table: pa.Table) -> ParsedBatch | None:
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
        lambda: _all(pc.match_substring_regex(read_at, TIMESTAMP_RE)),
        lambda: _all(pc.invert(pc.starts_with(read_at, "0000"))),
        lambda: _all(pc.match_substring_regex(value, VALUE_RE)),
        lambda: _all(pc.is_in(source, pa.array(FILE_SOURCES.values))),
        lambda: _all(pc.is_in(quality, pa.array(FILE_QUALITIES.values))),
        lambda: _empty_or(reader, READER_RE),
        lambda: _empty_or(photo, PHOTO_RE),
        lambda: _all(pc.equal(pc.equal(lat, ""), pc.equal(lon, ""))),
        lambda: _empty_or(lat, COORD_RE) and _empty_or(lon, COORD_RE),
    )
    if not all(check() for check in checks):
        return None
    try:
        stamps = pc.cast(read_at, pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        return None  # not a real date and time: the exhaustive path says which line
    read_at_us = stamps.cast(pa.int64()).to_numpy(zero_copy_only=False)
    earliest, latest = bounds.bounds_us()
    if n and (read_at_us.min() < earliest or read_at_us.max() > latest):
        return None  # before any partition is made for it: the exhaustive path names it
    has_gps = pc.not_equal(lat, "")
    gps = pa.nulls(n, pa.string())
    if n and not _all(pc.invert(has_gps)):
        lat_f = pc.cast(pc.if_else(has_gps, lat, "0"), pa.float64())
        lon_f = pc.cast(pc.if_else(has_gps, lon, "0"), pa.float64())
        if not (_all(pc.less_equal(pc.abs(lat_f), 90)) and _all(pc.less_equal(pc.abs(lon_f), 180))):
            return None
        # Same double values as the exhaustive path's float8 text.
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
    return ParsedBatch(
        line_no=np.arange(2, n + 2, dtype=np.int64),
        serial=serial,
        register=register,
        read_at_us=read_at_us,
        value_text=value,
        value=pc.cast(value, pa.float64()).to_numpy(zero_copy_only=False),
        source=pc.index_in(source, pa.array(SOURCES.values))
        .to_numpy(zero_copy_only=False)
        .astype(np.int8),
        quality=quality,
        reader_id=null_if_empty(reader),
        gps=gps,
        photo_sha256=null_if_empty(photo),
    )
