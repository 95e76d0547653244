"""Stage 1, exhaustive path: a load the fast Arrow typing doubted is typed line by line in
SQL, and refused naming every bad line with its code (line numbers as in the file, the
header being line 1).

Raw text rows go into a temporary table, where one query types every line and looks up its
meter and register. Nothing here writes a business table: a file with any bad line is
refused whole; a file found clean comes back as a :class:`ParsedBatch`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import numpy as np
import psycopg
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import copy_columns, copy_in, drop_tables, text_values
from meters.readings import bounds
from meters.readings import errors as e
from meters.readings.bad_lines import MAX_LISTED_LINES, MESSAGES, BadLine, raise_bad_lines
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

RAW = "kw_reading_raw"
TYPED = "kw_reading_typed"


def _sql_list(vocabulary: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in vocabulary)


def _create_raw(session: Session) -> None:
    drop_tables(session, RAW)
    columns = ", ".join(f"{c} text" for c in CSV_COLUMNS)
    # Rows keep file order, so an identity starting at 2 is the line number (header = 1).
    session.execute(
        text(
            f"CREATE TEMP TABLE {RAW} (line_no bigint GENERATED ALWAYS AS IDENTITY (START 2), "
            f"{columns}) ON COMMIT DROP"
        )
    )


def stage_csv(
    session: Session, stream: IO[bytes], on_progress: ProgressCallback | None, total: int
) -> None:
    """COPY a CSV file (positioned at its start) into the raw stage. A structurally broken
    file (wrong field count, unclosed quote) is scanned again in Python to name every bad
    line, then refused."""
    _create_raw(session)
    first = stream.readline().decode("utf-8-sig")
    header = read_header(first)
    savepoint = session.begin_nested()

    def chunks() -> Iterable[bytes]:
        while chunk := stream.read(1 << 20):
            yield chunk

    def progress(sent: int) -> None:
        if on_progress:
            on_progress("copy", len(first) + sent, total)

    try:
        copy_in(session, f"{RAW} ({', '.join(header)})", chunks(), format="csv", on_bytes=progress)
    except (
        psycopg.errors.BadCopyFileFormat,
        psycopg.errors.DataError,
        psycopg.errors.CharacterNotInRepertoire,
        UnicodeDecodeError,
    ) as exc:
        savepoint.rollback()
        stream.seek(0)
        bad = _scan_structure(stream, len(header))
        raise_bad_lines(bad or [BadLine(0, e.BAD_STRUCTURE, str(exc).splitlines()[0])], len(bad))
    savepoint.commit()


def stage_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """COPY in-memory rows (mappings keyed by ``CSV_COLUMNS``) into the raw stage."""
    _create_raw(session)
    copy_columns(session, RAW, {c: text_values([row.get(c) for row in rows]) for c in CSV_COLUMNS})


def _scan_structure(stream: IO[bytes], width: int) -> list[BadLine]:
    """Lines whose field count differs from the header's (only run on a failed COPY)."""
    reader = csv.reader(
        io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    )
    bad: list[BadLine] = []
    next(reader, None)
    try:
        for fields in reader:
            if len(fields) != width and fields:
                message = f"expected {width} fields, found {len(fields)}"
                bad.append(BadLine(reader.line_num, e.BAD_STRUCTURE, message))
    except csv.Error as exc:
        bad.append(BadLine(reader.line_num, e.BAD_STRUCTURE, f"unreadable CSV: {exc}"))
    return bad


_TYPED_SQL = f"""
CREATE TEMP TABLE {TYPED} ON COMMIT DROP AS
SELECT c.line_no, c.serial, c.register_code,
       coalesce(c.error, CASE WHEN m.id IS NULL THEN '{e.UNKNOWN_SERIAL}'
                              WHEN r.id IS NULL THEN '{e.UNKNOWN_REGISTER}' END) AS error,
       CASE WHEN c.error IS NULL THEN c.read_at::timestamptz END AS read_at,
       CASE WHEN c.error IS NULL THEN c.value::numeric END AS value,
       c.source, c.quality,
       CASE WHEN c.error IS NULL THEN c.reader_id::bigint END AS reader_id,
       CASE WHEN c.error IS NULL AND c.latitude IS NOT NULL THEN
         'SRID=4326;POINT(' || c.longitude::float8::text || ' ' || c.latitude::float8::text
         || ')' END AS gps,
       c.photo_sha256
FROM (
  SELECT s.line_no, s.serial, coalesce(nullif(s.register, ''), 'total') AS register_code,
         s.read_at, s.value, s.source, coalesce(nullif(s.quality, ''), 'actual') AS quality,
         nullif(s.reader_id, '') AS reader_id, nullif(s.latitude, '') AS latitude,
         nullif(s.longitude, '') AS longitude, nullif(s.photo_sha256, '') AS photo_sha256,
    CASE
      WHEN coalesce(s.serial, '') = '' THEN '{e.SERIAL_REQUIRED}'
      WHEN s.read_at IS NULL OR s.read_at !~ '{TIMESTAMP_RE}' THEN '{e.READ_AT_FORMAT}'
      WHEN substr(s.read_at, 1, 4)::int < 1 OR substr(s.read_at, 6, 2)::int NOT BETWEEN 1 AND 12
        OR substr(s.read_at, 9, 2)::int NOT BETWEEN 1 AND 31
        OR substr(s.read_at, 12, 2)::int > 23 OR substr(s.read_at, 15, 2)::int > 59
        OR (substr(s.read_at, 17, 1) = ':' AND substr(s.read_at, 18, 2)::int > 59)
        OR (substr(s.read_at, 9, 2)::int > 28 AND substr(s.read_at, 9, 2)::int > extract(day from
            make_date(substr(s.read_at, 1, 4)::int, substr(s.read_at, 6, 2)::int, 1)
            + interval '1 month' - interval '1 day'))
        THEN '{e.READ_AT_INVALID}'
      WHEN s.read_at::timestamptz < :earliest OR s.read_at::timestamptz > :latest
        THEN '{e.READ_AT_OUT_OF_BOUNDS}'
      WHEN s.value IS NULL OR s.value !~ '{VALUE_RE}' THEN '{e.VALUE_INVALID}'
      WHEN s.source IS NULL OR s.source NOT IN ({_sql_list(FILE_SOURCES.values)})
        THEN '{e.SOURCE_INVALID}'
      WHEN coalesce(nullif(s.quality, ''), 'actual') NOT IN ({_sql_list(FILE_QUALITIES.values)})
        THEN '{e.QUALITY_INVALID}'
      WHEN nullif(s.reader_id, '') !~ '{READER_RE}' THEN '{e.READER_ID_INVALID}'
      WHEN (nullif(s.latitude, '') IS NULL) <> (nullif(s.longitude, '') IS NULL)
        THEN '{e.GPS_INCOMPLETE}'
      WHEN nullif(s.latitude, '') !~ '{COORD_RE}' OR nullif(s.longitude, '') !~ '{COORD_RE}'
        OR abs(nullif(s.latitude, '')::numeric) > 90 OR abs(nullif(s.longitude, '')::numeric) > 180
        THEN '{e.GPS_INVALID}'
      WHEN nullif(s.photo_sha256, '') !~ '{PHOTO_RE}' THEN '{e.PHOTO_INVALID}'
    END AS error
  FROM {RAW} s
  OFFSET 0  -- keeps the subquery whole: flattened, the error CASE would run once per use
) AS c
LEFT JOIN meter_asset m ON m.serial = c.serial
LEFT JOIN meter_register r ON r.meter_id = m.id AND r.code = c.register_code
"""

# The rows of a clean stage, typed by PostgreSQL, in the fast path's shape.
_ROWS_SQL = f"""
SELECT t.line_no, t.serial, t.register_code,
       (extract(epoch FROM t.read_at) * 1000000)::int8, s.value, t.value::float8, t.source,
       t.quality, t.reader_id::text, t.gps, t.photo_sha256
FROM {TYPED} t JOIN {RAW} s ON s.line_no = t.line_no
ORDER BY t.line_no
"""


def parse_staged(session: Session) -> ParsedBatch:
    """Type the raw stage line by line; refuse the load naming every bad line, else its
    rows as a batch."""
    drop_tables(session, TYPED)
    lo, hi = bounds.bounds_us()
    session.execute(
        text(_TYPED_SQL),
        {
            "earliest": datetime.fromtimestamp(lo / 1e6, UTC),
            "latest": datetime.fromtimestamp(hi / 1e6, UTC),
        },
    )
    bad_count = session.scalar(text(f"SELECT count(*) FROM {TYPED} WHERE error IS NOT NULL"))
    if bad_count:
        rows = session.execute(
            text(
                f"SELECT line_no, error, serial, register_code FROM {TYPED} "
                f"WHERE error IS NOT NULL ORDER BY line_no LIMIT {MAX_LISTED_LINES}"
            )
        ).all()
        raise_bad_lines(
            [
                BadLine(int(n), code, MESSAGES[code].format(serial=serial, register=register))
                for n, code, serial, register in rows
            ],
            int(bad_count),
        )
    rows = session.execute(text(_ROWS_SQL)).all()
    drop_tables(session, RAW, TYPED)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(11)]
    strings = lambda i: pa.array(cols[i], pa.string())  # noqa: E731
    return ParsedBatch(
        line_no=np.array(cols[0], dtype=np.int64),
        serial=strings(1),
        register=strings(2),
        read_at_us=np.array(cols[3], dtype=np.int64),
        value_text=strings(4),
        value=np.array(cols[5], dtype=np.float64),
        source=SOURCES.codes(cols[6]),
        quality=strings(7),
        reader_id=strings(8),
        gps=strings(9),
        photo_sha256=strings(10),
    )
