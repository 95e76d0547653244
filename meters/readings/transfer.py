"""Moving Arrow tables in and out of PostgreSQL by COPY (CSV, parsed and written in C++)."""

from __future__ import annotations

import io
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy.orm import Session

COPY_CHUNK = 1 << 22


def driver(session: Session) -> psycopg.Connection[Any]:
    return session.connection().connection.driver_connection  # type: ignore[return-value]


def csv_bytes(table: pa.Table) -> bytes:
    """Rows as COPY's CSV: null is an empty unquoted field, text is always quoted."""
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, batch_size=1 << 16))
    return sink.getvalue()


def copy_in(session: Session, target: str, table: pa.Table) -> None:
    """COPY ``table`` into ``target`` (its columns by name)."""
    copy_bytes(session, f"{target} ({', '.join(table.column_names)})", csv_bytes(table))


def copy_bytes(session: Session, target: str, data: bytes) -> None:
    """COPY CSV bytes into ``target`` ('table (columns)')."""
    copy_parts(session, target, [data], "FORMAT csv")


def copy_parts(session: Session, target: str, parts: list[Any], options: str) -> None:
    """COPY a stream given in parts (bytes-like) into ``target`` ('table (columns)')."""
    copy_parts_with(driver(session), target, parts, options)


def copy_parts_with(
    conn: psycopg.Connection[Any], target: str, parts: list[Any], options: str
) -> None:
    with conn.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN ({options})") as copy:
        for part in parts:
            view = memoryview(part)
            for start in range(0, len(view), COPY_CHUNK):
                copy.write(view[start : start + COPY_CHUNK])


def copy_out(
    session: Session,
    query: str,
    schema: dict[str, pa.DataType],
    params: dict[str, Any] | None = None,
) -> pa.Table:
    """The rows of ``query`` (columns in ``schema`` order) as an Arrow table."""
    sink = io.BytesIO()
    with (
        driver(session).cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        for chunk in copy:
            sink.write(chunk)
    sink.seek(0)
    if not sink.getbuffer().nbytes:
        return pa.table({name: pa.array([], type_) for name, type_ in schema.items()})
    return pa_csv.read_csv(
        sink,
        read_options=pa_csv.ReadOptions(column_names=list(schema), block_size=1 << 24),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema, true_values=["t"], false_values=["f"]
        ),
    )
