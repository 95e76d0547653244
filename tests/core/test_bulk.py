"""core.bulk on a real database: COPY in every format and back out, ids drawn ahead."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import (
    IdsInBackground,
    copy_arrow,
    copy_columns,
    copy_in,
    copy_out_arrow,
    next_values,
    reserve_block,
    reserve_ids,
    text_values,
)

TABLE = "kw_test_bulk"


def _table(db: Session) -> None:
    db.execute(text(f"CREATE TEMP TABLE {TABLE} (id bigserial, n bigint, s text) ON COMMIT DROP"))


def _rows(db: Session) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.execute(text(f"SELECT n, s FROM {TABLE} ORDER BY n"))]


def test_text_columns_with_awkward_values_arrive_as_written(db: Session) -> None:
    _table(db)
    awkward = ["tab\there", "back\\slash", "new\nline", None, "carriage\rreturn"]
    count = copy_columns(db, TABLE, {"n": [str(i) for i in range(5)], "s": text_values(awkward)})
    assert count == 5
    assert _rows(db) == list(zip(range(5), awkward, strict=True))


def test_binary_and_csv_streams_and_arrow_both_ways(db: Session) -> None:
    _table(db)
    # One binary row: 2 fields, int8 7 and text 'seven'.
    binary = (
        b"PGCOPY\n\xff\r\n\x00"
        + b"\x00" * 8
        + (2).to_bytes(2, "big")
        + (8).to_bytes(4, "big")
        + (7).to_bytes(8, "big")
        + (5).to_bytes(4, "big")
        + b"seven"
        + b"\xff\xff"
    )
    copy_in(db, f"{TABLE} (n, s)", [binary[:10], binary[10:]], format="binary")
    copy_in(db, f"{TABLE} (n, s)", ['8,"ei,ght"\n', "9,\n"], format="csv")
    copy_arrow(db, TABLE, pa.table({"n": pa.array([10], pa.int64()), "s": ["ten"]}))
    assert _rows(db) == [(7, "seven"), (8, "ei,ght"), (9, None), (10, "ten")]
    back = copy_out_arrow(
        db,
        f"SELECT n, s FROM {TABLE} WHERE n >= %(lo)s ORDER BY n",
        {"n": pa.int64(), "s": pa.string()},
        {"lo": 8},
    )
    assert back.to_pydict() == {"n": [8, 9, 10], "s": ["ei,ght", None, "ten"]}


def test_ids_come_from_the_tables_own_sequence(db: Session, engine) -> None:
    _table(db)
    ids = reserve_ids(db, TABLE, 2500)  # more than one cached block of a sequence
    assert len(np.unique(ids)) == 2500 and (np.diff(ids) > 0).all()
    sequence = db.scalar(text(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')"))
    assert next_values(db, sequence, 1)[0] > ids[-1]
    first = reserve_block(db, TABLE, 10)
    assert next_values(db, sequence, 1)[0] == first + 10  # the block was consecutive
    drawn = IdsInBackground(engine, "meter_reading_id_seq", 300).get()
    assert len(np.unique(drawn)) == 300
