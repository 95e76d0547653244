"""core.bulk_read on a real database: binary COPY decoded in numpy, slices read at once on
other connections sharing the caller's snapshot, and the fallback once it has written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.bulk_read import BulkReadError, copy_out_numpy, decode_binary, read_parallel

COLUMNS = {"n": "int8", "x": "float8", "at": "timestamptz", "code": "int2"}
SELECT = "SELECT n, x, at, code FROM {t} WHERE n >= %(lo)s AND n < %(hi)s ORDER BY n"


ROWS = (
    "AS SELECT g::int8 AS n, g / 4.0::float8 AS x, "
    "timestamptz '2024-01-01T00:00:00Z' + g * interval '1 second' AS at, "
    "(g % 3)::int2 AS code FROM generate_series(0, 999) g"
)


@pytest.fixture()
def table(db: Session) -> str:
    """Rows 0..999 in a table of the test's own (rolled back) transaction."""
    db.execute(text(f"CREATE TEMP TABLE kw_test_bulk_read ON COMMIT DROP {ROWS}"))
    return "kw_test_bulk_read"


@pytest.fixture()
def committed(committed_engine: Engine) -> Iterator[str]:
    """The same rows committed (other connections must see them), dropped after the test."""
    name = f"kw_test_bulk_read_{uuid.uuid4().hex[:8]}"
    with committed_engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} {ROWS}"))
    yield name
    with committed_engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {name}"))


def test_binary_copy_decodes_to_numpy(db: Session, table: str) -> None:
    got = copy_out_numpy(db, SELECT.format(t=table), COLUMNS, {"lo": 10, "hi": 13})
    assert got["n"].tolist() == [10, 11, 12]
    assert got["x"].tolist() == [2.5, 2.75, 3.0]
    # 2024-01-01T00:00:00Z is 1704067200 s after the Unix epoch; row n is n seconds later.
    assert got["at"].tolist() == [1704067210.0, 1704067211.0, 1704067212.0]
    assert got["code"].tolist() == [1, 2, 0]


def test_a_null_or_a_variable_width_column_is_refused(db: Session, table: str) -> None:
    with pytest.raises(BulkReadError):
        copy_out_numpy(db, f"SELECT NULL::int8 AS n FROM {table} LIMIT 2", {"n": "int8"})
    with pytest.raises(BulkReadError):
        decode_binary(b"not a COPY stream", {"n": "int8"})


def test_slices_read_on_other_connections_see_the_callers_snapshot(
    committed_engine: Engine, committed: str
) -> None:
    engine, table = committed_engine, committed
    slices = [
        (SELECT.format(t=table), {"lo": a, "hi": a + 250}, COLUMNS) for a in range(0, 1000, 250)
    ]
    # In a repeatable-read transaction the snapshot is its first statement's: what commits
    # after it is invisible to the caller, so to the slices too if they share it.
    with Session(engine.execution_options(isolation_level="REPEATABLE READ")) as session:
        session.execute(text(f"SELECT count(*) FROM {table}"))
        with engine.begin() as other:  # committed after it: the slices must not see it
            other.execute(text(f"DELETE FROM {table} WHERE n < 100"))
        parts = read_parallel(session, slices, workers=2)
        backends = session.scalar(text("SELECT pg_backend_pid()"))
        session.rollback()
    assert [len(p["n"]) for p in parts] == [250, 250, 250, 250]
    assert np.concatenate([p["n"] for p in parts]).tolist() == list(range(1000))
    assert parts[0]["at"][0] == 1704067200.0 and parts[3]["x"][-1] == 999 / 4
    assert backends  # the caller's own connection stayed usable


def test_a_transaction_that_wrote_reads_on_its_own_connection(db: Session, table: str) -> None:
    db.execute(text(f"INSERT INTO {table} VALUES (5000, 1.5, now(), 1)"))  # not committed
    parts = read_parallel(
        db, [(SELECT.format(t=table), {"lo": 999, "hi": 6000}, COLUMNS)] * 2, workers=2
    )
    assert [p["n"].tolist() for p in parts] == [[999, 5000], [999, 5000]]
