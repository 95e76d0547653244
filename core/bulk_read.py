"""Reading millions of rows out of PostgreSQL into numpy: binary COPY decoded without a
Python step per row, and several such reads run at once on one consistent snapshot.

A national network's 24 months of reads are tens of millions of rows. What costs is the
backend formatting them and the client taking them in: CSV needs a parse; binary COPY of
fixed-width columns is decoded here by one ``numpy.frombuffer`` (every column NOT NULL,
of a type in ``WIDTHS``). :func:`read_parallel` splits the work over several backends
(the caller gives one query per slice, e.g. per range of months), each read by the ADBC
PostgreSQL driver (binary COPY decoded in C++, the GIL released, so the slices really run
at once) inside a transaction importing the caller's snapshot: the slices see exactly
what the caller's transaction sees. A caller's transaction that has already written
cannot share what it wrote with another backend: the slices are then read one after the
other on its own connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import Target, driver

# Binary COPY's fixed widths and their big-endian numpy types.
WIDTHS: dict[str, tuple[int, str]] = {
    "int8": (8, ">i8"),
    "int4": (4, ">i4"),
    "int2": (2, ">i2"),
    "float8": (8, ">f8"),
    "bool": (1, "?"),
    "timestamptz": (8, ">i8"),
}
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER_BYTES = 19  # signature, flags (int4), header extension length (int4, 0)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp origin
Columns = Mapping[str, str]  # column name -> type in WIDTHS, in the query's order


class BulkReadError(RuntimeError):
    """The stream does not have the announced fixed-width layout (a NULL, a wrong type)."""


def decode_binary(data: bytes | bytearray | memoryview, columns: Columns) -> dict[str, Any]:
    """The rows of a binary COPY stream as numpy arrays (native byte order); timestamptz as
    Unix epoch seconds (float64)."""
    buf = memoryview(data)
    if bytes(buf[: len(SIGNATURE)]) != SIGNATURE:
        raise BulkReadError("not a binary COPY stream")
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name, kind in columns.items():
        fields += [(f"{name}__len", ">i4"), (name, WIDTHS[kind][1])]
    dtype = np.dtype(fields)  # packed: the stream has no padding
    body = buf[HEADER_BYTES : len(buf) - 2]  # without the trailer (int2 -1)
    if len(body) % dtype.itemsize:
        raise BulkReadError("rows of varying width: a NULL or a variable-width column")
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and (rows["count"] != len(columns)).any():
        raise BulkReadError("unexpected field count")
    out: dict[str, Any] = {}
    for name, kind in columns.items():
        if len(rows) and (rows[f"{name}__len"] != WIDTHS[kind][0]).any():
            raise BulkReadError(f"column {name} is not a NOT NULL {kind}")
        values = rows[name].astype(WIDTHS[kind][1][1:])
        # Epoch seconds as PostgreSQL's date_part computes them: Unix microseconds / 1e6.
        out[name] = (values + PG_EPOCH_US) / 1e6 if kind == "timestamptz" else values
    return out


def copy_out_numpy(
    target: Target, query: str, columns: Columns, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The rows of ``query`` (psycopg ``%(name)s`` parameters) by binary COPY, in the
    caller's transaction, as numpy arrays (see :func:`decode_binary`)."""
    sink = bytearray()
    with (
        driver(target).cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy,
    ):
        for chunk in copy:
            sink += chunk
    return decode_binary(sink, columns)


def read_parallel(
    session: Session,
    queries: Sequence[tuple[str, Mapping[str, Any] | None, Columns]],
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Each ``(query, params, columns)`` read as by :func:`copy_out_numpy`, up to
    ``workers`` (default: the CPU count, at least 2) at once on the caller's snapshot."""
    if not queries:
        return []
    wrote = session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL"))
    if wrote or len(queries) == 1:
        return [copy_out_numpy(session, q, c, p) for q, p, c in queries]
    snapshot = session.scalar(text("SELECT pg_export_snapshot()"))
    conn = driver(session)
    uri = _libpq_uri(conn)
    rendered = [(_render(conn, q, p), c) for q, p, c in queries]
    pool = max(2, workers or os.cpu_count() or 2)
    with ThreadPoolExecutor(min(pool, len(rendered))) as executor:
        return list(executor.map(lambda qc: _adbc_read(uri, str(snapshot), *qc), rendered))


def _render(conn: psycopg.Connection[Any], query: str, params: Mapping[str, Any] | None) -> str:
    """The query with its parameters as literals (psycopg's client-side binding)."""
    return psycopg.ClientCursor(conn).mogrify(query, params)


def _libpq_uri(conn: psycopg.Connection[Any]) -> str:
    info = conn.info
    parts = {
        "host": info.host,
        "port": str(info.port),
        "user": info.user,
        "dbname": info.dbname,
        "password": info.password or None,
    }
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


def _adbc_read(uri: str, snapshot: str, query: str, columns: Columns) -> dict[str, Any]:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(uri, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        cursor.execute(query)
        table = cursor.fetch_arrow_table()
        cursor.execute("COMMIT")
    out: dict[str, Any] = {}
    for (name, kind), column in zip(columns.items(), table.columns, strict=True):
        if column.null_count:
            raise BulkReadError(f"column {name} is not a NOT NULL {kind}")
        values = column.to_numpy()
        if kind == "timestamptz":  # Arrow: microseconds since the Unix epoch
            values = values.view(np.int64) / 1e6
        out[name] = values.astype(WIDTHS[kind][1][1:], copy=False)
    return out
