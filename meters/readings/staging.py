"""Stage 1 of a reading load: raw text rows into a temporary table, then typed and
resolved set-based, with every unusable line named (line numbers as in the file, the
header being line 1).

Nothing here writes a business table: a file with any bad line is refused whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import FieldError
from meters.errors import ReadingImportInvalidError

CSV_COLUMNS = (
    "serial",
    "register",
    "read_at",
    "value",
    "source",
    "quality",
    "reader_id",
    "latitude",
    "longitude",
    "photo_sha256",
)
REQUIRED_COLUMNS = ("serial", "read_at", "value", "source")
MAX_LISTED_LINES = 1000
COPY_CHUNK = 1 << 20

RAW = "kw_reading_raw"
TYPED = "kw_reading_typed"

_TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_VALUE_RE = r"^\d{1,13}(\.\d{1,3})?$"
_COORD_RE = r"^-?\d{1,3}(\.\d{1,12})?$"

ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BadLine:
    line: int
    message: str


def drop_stage_tables(session: Session, *names: str) -> None:
    for name in names:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))


def create_raw_stage(session: Session) -> None:
    drop_stage_tables(session, RAW)
    columns = ", ".join(f"{c} text" for c in CSV_COLUMNS)
    # Rows keep file order, so an identity starting at 2 is the line number (header = 1).
    session.execute(
        text(
            f"CREATE TEMP TABLE {RAW} (line_no bigint GENERATED ALWAYS AS IDENTITY (START 2), "
            f"{columns}) ON COMMIT DROP"
        )
    )


def _driver(session: Session) -> psycopg.Connection[Any]:
    return session.connection().connection.driver_connection  # type: ignore[return-value]


def read_header(first_line: str) -> list[str]:
    header = [h.strip().lower() for h in next(csv.reader([first_line]), [])]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if duplicated:
        problems.append(f"repeated column(s): {', '.join(duplicated)}")
    if problems:
        raise ReadingImportInvalidError(
            "the header line is not a reading file header",
            errors=[FieldError("line 1", "; ".join(problems), "bad_header")],
            extra={"expected_columns": list(CSV_COLUMNS)},
        )
    return header


def copy_csv(
    session: Session, stream: IO[bytes], on_progress: ProgressCallback | None, total_bytes: int = 0
) -> None:
    """COPY a CSV file (positioned at its start) into the raw stage. A structurally broken
    file (wrong field count, unclosed quote) is scanned again in Python to name every bad
    line, then refused."""
    first = stream.readline().decode("utf-8-sig")
    header = read_header(first)
    done = len(first)
    savepoint = session.begin_nested()
    try:
        with (
            _driver(session).cursor() as cursor,
            cursor.copy(f"COPY {RAW} ({', '.join(header)}) FROM STDIN (FORMAT csv)") as copy,
        ):
            while chunk := stream.read(COPY_CHUNK):
                copy.write(chunk)
                done += len(chunk)
                if on_progress:
                    on_progress("copy", done, total_bytes)
    except (
        psycopg.errors.BadCopyFileFormat,
        psycopg.errors.DataError,
        psycopg.errors.CharacterNotInRepertoire,
        UnicodeDecodeError,
    ) as exc:
        savepoint.rollback()
        stream.seek(0)
        bad = scan_structure(stream, len(header)) or [BadLine(0, str(exc).splitlines()[0])]
        raise_bad_lines(bad, len(bad))
    savepoint.commit()


def copy_rows(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """COPY in-memory rows (mappings keyed by ``CSV_COLUMNS``) into the raw stage."""
    count = 0
    with (
        _driver(session).cursor() as cursor,
        cursor.copy(f"COPY {RAW} ({', '.join(CSV_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([None if row.get(c) is None else str(row[c]) for c in CSV_COLUMNS])
            count += 1
    return count


def scan_structure(stream: IO[bytes], width: int) -> list[BadLine]:
    """Lines whose field count differs from the header's (only run on a failed COPY)."""
    reader = csv.reader(
        io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    )
    bad: list[BadLine] = []
    next(reader, None)
    try:
        for fields in reader:
            if len(fields) != width and fields:
                bad.append(
                    BadLine(reader.line_num, f"expected {width} fields, found {len(fields)}")
                )
    except csv.Error as exc:
        bad.append(BadLine(reader.line_num, f"unreadable CSV: {exc}"))
    return bad


def raise_bad_lines(bad: list[BadLine], total: int) -> None:
    listed = bad[:MAX_LISTED_LINES]
    raise ReadingImportInvalidError(
        f"{total} line(s) cannot be read; nothing was imported",
        errors=[FieldError(f"line {b.line}", b.message, "bad_line") for b in listed],
        extra={
            "bad_line_count": total,
            "bad_lines": [{"line": b.line, "message": b.message} for b in listed],
        },
    )


_TYPED_SQL = f"""
CREATE TEMP TABLE {TYPED} ON COMMIT DROP AS
SELECT c.line_no,
       coalesce(c.error, CASE WHEN m.id IS NULL THEN 'unknown meter serial ' || c.serial
                              WHEN r.id IS NULL THEN 'meter ' || c.serial || ' has no register '
                                                     || c.register_code END) AS error,
       m.id AS meter_id, r.id AS register_id, m.dial_digits,
       m.multiplier, power(10::numeric, m.dial_digits) AS capacity,
       CASE WHEN c.error IS NULL THEN c.read_at::timestamptz END AS read_at,
       CASE WHEN c.error IS NULL THEN c.value::numeric END AS value,
       c.source, c.quality,
       CASE WHEN c.error IS NULL THEN c.reader_id::bigint END AS reader_id,
       CASE WHEN c.error IS NULL AND c.latitude IS NOT NULL THEN
         ST_SetSRID(ST_MakePoint(c.longitude::float8, c.latitude::float8), 4326) END AS gps,
       c.photo_sha256
FROM (
  SELECT s.line_no, s.serial, coalesce(nullif(s.register, ''), 'total') AS register_code,
         s.read_at, s.value, s.source, coalesce(nullif(s.quality, ''), 'actual') AS quality,
         nullif(s.reader_id, '') AS reader_id, nullif(s.latitude, '') AS latitude,
         nullif(s.longitude, '') AS longitude, nullif(s.photo_sha256, '') AS photo_sha256,
    CASE
      WHEN coalesce(s.serial, '') = '' THEN 'serial is required'
      WHEN s.read_at IS NULL OR s.read_at !~ '{_TIMESTAMP_RE}'
        THEN 'read_at must be an ISO 8601 timestamp with a UTC offset'
      WHEN substr(s.read_at, 1, 4)::int < 1 OR substr(s.read_at, 6, 2)::int NOT BETWEEN 1 AND 12
        OR substr(s.read_at, 9, 2)::int NOT BETWEEN 1 AND 31
        OR substr(s.read_at, 12, 2)::int > 23 OR substr(s.read_at, 15, 2)::int > 59
        OR (substr(s.read_at, 17, 1) = ':' AND substr(s.read_at, 18, 2)::int > 59)
        OR (substr(s.read_at, 9, 2)::int > 28 AND substr(s.read_at, 9, 2)::int > extract(day from
            make_date(substr(s.read_at, 1, 4)::int, substr(s.read_at, 6, 2)::int, 1)
            + interval '1 month' - interval '1 day'))
        THEN 'read_at is not a real date and time'
      WHEN s.value IS NULL OR s.value !~ '{_VALUE_RE}'
        THEN 'value must be a non-negative number (at most 3 decimals)'
      WHEN s.source IS NULL OR s.source NOT IN ('handheld', 'self_read', 'ami')
        THEN 'source must be one of handheld, self_read, ami'
      WHEN coalesce(nullif(s.quality, ''), 'actual') NOT IN ('actual', 'doubtful')
        THEN 'quality must be actual or doubtful'
      WHEN nullif(s.reader_id, '') !~ '^[0-9]{{1,18}}$' THEN 'reader_id must be a user id'
      WHEN (nullif(s.latitude, '') IS NULL) <> (nullif(s.longitude, '') IS NULL)
        THEN 'latitude and longitude go together'
      WHEN nullif(s.latitude, '') !~ '{_COORD_RE}' OR nullif(s.longitude, '') !~ '{_COORD_RE}'
        OR abs(nullif(s.latitude, '')::numeric) > 90 OR abs(nullif(s.longitude, '')::numeric) > 180
        THEN 'latitude/longitude must be WGS84 degrees'
      WHEN nullif(s.photo_sha256, '') !~ '^[0-9a-f]{{64}}$'
        THEN 'photo_sha256 must be 64 lowercase hex digits'
    END AS error
  FROM {RAW} s
  OFFSET 0  -- keeps the subquery whole: flattened, the error CASE would run once per use
) AS c
LEFT JOIN meter_asset m ON m.serial = c.serial
LEFT JOIN meter_register r ON r.meter_id = m.id AND r.code = c.register_code
"""


_ERROR_COUNT = f"SELECT count(*) FROM {TYPED} WHERE error IS NOT NULL"


def refuse_bad_lines(session: Session) -> None:
    """Type the raw stage exhaustively in SQL and refuse the load naming every bad line
    (the slow path, taken only when the fast Arrow typing had a doubt)."""
    drop_stage_tables(session, TYPED)
    session.execute(text(_TYPED_SQL))
    bad_count = session.scalar(text(_ERROR_COUNT))
    if bad_count:
        rows = session.execute(
            text(
                f"SELECT line_no, error FROM {TYPED} WHERE error IS NOT NULL ORDER BY line_no "
                f"LIMIT {MAX_LISTED_LINES}"
            )
        ).all()
        raise_bad_lines([BadLine(int(n), e) for n, e in rows], int(bad_count))


# A file the exhaustive typing finds clean although the fast path doubted it: its rows, typed
# by PostgreSQL, in the fast path's shape.
_STAGED_ROWS_SQL = f"""
SELECT s.line_no, s.serial, coalesce(nullif(s.register, ''), 'total'),
       (extract(epoch FROM t.read_at) * 1000000)::int8, s.value, t.value::float8, t.source,
       t.quality, t.reader_id::text,
       CASE WHEN t.gps IS NOT NULL THEN 'SRID=4326;POINT(' || s.longitude::float8::text || ' '
            || s.latitude::float8::text || ')' END,
       t.photo_sha256
FROM {TYPED} t JOIN {RAW} s ON s.line_no = t.line_no
ORDER BY s.line_no
"""


def staged_rows(session: Session) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(text(_STAGED_ROWS_SQL)).all()]
