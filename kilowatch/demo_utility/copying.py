"""COPY helpers for the demo builder: ids drawn from a table's sequence, columns turned
into PostgreSQL text format, instants (days from a month start) into ISO timestamps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

CHUNK_ROWS = 50_000
NULL = "\\N"
Progress = Callable[[str, int, int], None]


def quiet(_stage: str, _done: int, _total: int) -> None:
    return None


def reserve_ids(session: Session, table: str, count: int) -> np.ndarray:
    """``count`` fresh ids from ``table``'s id sequence (set-based, safe with concurrent
    writers: each nextval is ours)."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    rows = (
        session.execute(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        .scalars()
        .all()
    )
    return np.asarray(rows, dtype=np.int64)


def next_values(session: Session, sequence: str, count: int) -> list[int]:
    if count == 0:
        return []
    return list(
        session.execute(
            text(f"SELECT nextval('{sequence}') FROM generate_series(1, :n)"), {"n": count}
        ).scalars()
    )


def texts(values: Sequence[Any] | np.ndarray) -> list[str]:
    """Text-format COPY values: None -> NULL; backslash, tab and newline escaped."""
    out = []
    for value in values.tolist() if isinstance(values, np.ndarray) else values:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(NULL)
        else:
            s = str(value)
            if "\\" in s or "\t" in s or "\n" in s:
                s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            out.append(s)
    return out


def ints(values: np.ndarray) -> list[str]:
    return np.asarray(values, dtype=np.int64).astype(str).tolist()


def instants(first_month: date, days: np.ndarray) -> list[str]:
    """ISO 8601 UTC timestamps of ``days`` after ``first_month`` 00:00 UTC (to the second);
    NaN -> NULL."""
    days = np.asarray(days, dtype=float)
    seconds = np.rint(np.nan_to_num(days) * 86400.0).astype(np.int64)
    stamps = np.datetime64(first_month.isoformat(), "s") + seconds.astype("timedelta64[s]")
    out = np.char.add(stamps.astype(str), "+00")
    out = out.astype(object)
    out[np.isnan(days)] = NULL
    return out.tolist()


def copy_table(
    session: Session,
    table: str,
    columns: dict[str, list[str]],
    progress: Progress = quiet,
    stage: str | None = None,
) -> int:
    """COPY prepared text columns into ``table`` in the session's transaction."""
    names = list(columns)
    cols = list(columns.values())
    count = len(cols[0]) if cols else 0
    cursor: Any = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    label = stage or table
    with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for start in range(0, count, CHUNK_ROWS):
            rows = zip(*(c[start : start + CHUNK_ROWS] for c in cols), strict=True)
            copy.write("\n".join(map("\t".join, rows)) + "\n")
            progress(label, min(count, start + CHUNK_ROWS), count)
    if count == 0:
        progress(label, 0, 0)
    return count
