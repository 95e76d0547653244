"""Bulk moves in and out of PostgreSQL: COPY (binary, text or CSV) and ids drawn ahead.

Set-based writers (the network generator, the demo builder, the reading loads) send
millions of rows. ``INSERT`` costs a parse, a plan and a round trip per statement; COPY
streams the rows into the backend, which only converts them (binary: not even that). Ids
are drawn from the table's own sequence before a row is sent, so foreign keys between
tables written in one job are known up front and no ``RETURNING`` is needed.

Everything here runs in the caller's transaction (a psycopg connection or a SQLAlchemy
session's), except :class:`IdsInBackground`, which draws on a second connection while the
caller works: sequences are not transactional, so ids drawn for a job that rolls back are
only a gap, as with a column default.
"""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

# COPY accepts any split of its stream; 4 MB writes keep the socket busy without holding
# a second copy of a big buffer.
COPY_WRITE_BYTES = 1 << 22
TEXT_NULL = "\\N"
TEXT_CHUNK_ROWS = 50_000

Format = Literal["binary", "text", "csv"]
Target = Session | psycopg.Connection[Any]
# (stage, done, total): the progress callback of the generator and the demo builder.
Progress = Callable[[str, int, int], None]


def driver(target: Target) -> psycopg.Connection[Any]:
    """The psycopg connection under a session (in its transaction), or the connection."""
    if isinstance(target, psycopg.Connection):
        return target
    return target.connection().connection.driver_connection  # type: ignore[return-value]


def copy_in(
    target: Target,
    into: str,
    parts: Iterable[Any],
    *,
    format: Format = "text",
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """COPY a stream given in bytes-like ``parts`` into ``into`` ('table (col, ...)').

    ``format`` is the stream's: ``binary`` (PostgreSQL's binary COPY, signature and trailer
    included), ``text`` (tab-separated, ``\\N`` for NULL) or ``csv`` (empty unquoted = NULL).
    ``on_bytes`` is told how many bytes were sent after each write.
    """
    sent = 0
    with (
        driver(target).cursor() as cursor,
        cursor.copy(f"COPY {into} FROM STDIN (FORMAT {format})") as copy,
    ):
        for part in parts:
            view = memoryview(part.encode() if isinstance(part, str) else part)
            for start in range(0, len(view), COPY_WRITE_BYTES):
                chunk = view[start : start + COPY_WRITE_BYTES]
                copy.write(chunk)
                sent += len(chunk)
                if on_bytes is not None:
                    on_bytes(sent)


def drop_tables(target: Session, *names: str) -> None:
    """Drop a bulk job's stage tables if they exist (temporary tables of this session)."""
    for name in names:
        target.execute(text(f"DROP TABLE IF EXISTS {name}"))


def csv_bytes(table: pa.Table) -> bytes:
    """An Arrow table as COPY's CSV (no header; null is an empty unquoted field, text is
    always quoted), written in C++."""
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, batch_size=1 << 16))
    return sink.getvalue()


def copy_arrow(target: Target, into: str, table: pa.Table) -> None:
    """COPY an Arrow table into table ``into`` (its columns by name)."""
    columns = ", ".join(table.column_names)
    copy_in(target, f"{into} ({columns})", [csv_bytes(table)], format="csv")


def copy_out_arrow(
    target: Target,
    query: str,
    schema: Mapping[str, pa.DataType],
    params: Mapping[str, Any] | None = None,
) -> pa.Table:
    """The rows of ``query`` (psycopg ``%(name)s`` parameters; columns in ``schema``
    order) as an Arrow table, parsed in C++ from COPY's CSV."""
    sink = io.BytesIO()
    with (
        driver(target).cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        for chunk in copy:
            sink.write(chunk)
    if not sink.getbuffer().nbytes:
        return pa.table({name: pa.array([], type_) for name, type_ in schema.items()})
    sink.seek(0)
    return pa_csv.read_csv(
        sink,
        read_options=pa_csv.ReadOptions(column_names=list(schema), block_size=1 << 24),
        # COPY writes NULL unquoted and an empty text quoted: both come back as they were.
        convert_options=pa_csv.ConvertOptions(
            column_types=dict(schema),
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def text_values(values: Sequence[Any] | np.ndarray) -> list[str]:
    """Values in COPY's text format: None (and NaN) -> NULL; backslash, tab, newline and
    carriage return escaped."""
    out = []
    for value in values.tolist() if isinstance(values, np.ndarray) else values:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(TEXT_NULL)
            continue
        s = str(value)
        if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
            s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            s = s.replace("\r", "\\r")
        out.append(s)
    return out


def copy_columns(
    target: Target,
    table: str,
    columns: Mapping[str, Sequence[str]],
    progress: Progress | None = None,
    stage: str | None = None,
) -> int:
    """COPY columns already in text format (see :func:`text_values`; equal lengths) into
    ``table``; returns the row count. ``progress(stage, rows done, rows)`` per chunk."""
    names = list(columns)
    cols = list(columns.values())
    count = len(cols[0]) if cols else 0
    label = stage or table

    def chunks() -> Iterable[str]:
        for start in range(0, count, TEXT_CHUNK_ROWS):
            rows = zip(*(c[start : start + TEXT_CHUNK_ROWS] for c in cols), strict=True)
            yield "\n".join(map("\t".join, rows)) + "\n"
            if progress is not None:
                progress(label, min(count, start + TEXT_CHUNK_ROWS), count)

    copy_in(target, f"{table} ({', '.join(names)})", chunks(), format="text")
    if count == 0 and progress is not None:
        progress(label, 0, 0)
    return count


# Runs of consecutive ids (a backend's cached block of the sequence), in drawing order: a
# million ids come back as a few rows rather than a million.
_RUNS_SQL = """
SELECT min(id), count(*)::int8 FROM (
  SELECT id, id - row_number() OVER () AS run
  FROM (SELECT nextval(CAST(:sequence AS regclass)) AS id
        FROM generate_series(1, :n)) AS drawn
) AS numbered GROUP BY run ORDER BY min(id)
"""


def id_sequence(session: Session, table: str, column: str = "id") -> str:
    """The name of the sequence behind ``table.column`` (serial or identity)."""
    name = session.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table, "column": column}
    )
    if name is None:
        raise ValueError(f"{table}.{column} draws from no sequence")
    return str(name)


def next_values(session: Session, sequence: str, count: int) -> np.ndarray:
    """``count`` values (int64, increasing) drawn from the sequence named ``sequence``.

    Each is a ``nextval`` of ours, so this is safe beside concurrent writers; the values
    are distinct but not necessarily consecutive."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    runs = session.execute(text(_RUNS_SQL), {"sequence": sequence, "n": count}).all()
    return _expand_runs([(int(r[0]), int(r[1])) for r in runs], count)


def reserve_ids(session: Session, table: str, count: int, column: str = "id") -> np.ndarray:
    """``count`` fresh ids of ``table`` (int64, increasing) from its column's sequence,
    safe beside concurrent writers (see :func:`next_values`)."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    return next_values(session, id_sequence(session, table, column), count)


def _expand_runs(runs: list[tuple[int, int]], count: int) -> np.ndarray:
    starts = np.array([r[0] for r in runs], dtype=np.int64)
    lengths = np.array([r[1] for r in runs], dtype=np.int64)
    offsets = np.arange(count, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + offsets


def reserve_block(session: Session, table: str, count: int, column: str = "id") -> int:
    """The first of ``count`` CONSECUTIVE ids of ``table.column``'s sequence.

    Only safe when nobody else draws from that sequence meanwhile: the caller must hold a
    lock that keeps other writers of ``table`` out (``LOCK TABLE ... IN EXCLUSIVE MODE``)."""
    sequence = id_sequence(session, table, column)
    start = int(session.execute(text("SELECT nextval(:s)"), {"s": sequence}).scalar_one())
    if count > 1:
        session.execute(
            text("SELECT setval(:s, :last)"), {"s": sequence, "last": start + count - 1}
        )
    return start


class IdsInBackground:
    """``count`` fresh values of ``sequence``, drawn on a second connection while the
    caller works (a ``nextval()`` column default costs the loading backend about a quarter
    of a microsecond per row); :meth:`get` waits for them."""

    def __init__(self, engine: Engine, sequence: str, count: int) -> None:
        self._engine, self._sequence, self._count = engine, sequence, count
        self._ids: np.ndarray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._draw, name=f"ids-{sequence}")
        self._thread.start()

    def _draw(self) -> None:
        try:
            with Session(self._engine) as session:
                self._ids = next_values(session, self._sequence, self._count)
                session.commit()
        except BaseException as error:  # handed to the caller by get()
            self._error = error

    def get(self) -> np.ndarray:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._ids is not None
        return self._ids


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one bulk step (a chunk of a run).

    Building thousands of rows allocates enough containers to trigger full collections
    over every live object again and again (a second per 5,000-bill chunk, measured);
    reference counting still frees what the step drops, and the collector runs again
    after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
