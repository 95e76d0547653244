"""Month partitions of ``meter_reading`` made by concurrent writers: the first writes of a
new month from many transactions at once, each of which had already read
``meter_reading``, all go through (no deadlock, no error) and land in one partition."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from meters.models import READING_PARTITION_SCHEMA
from meters.readings.partitions import ensure_reading_partitions, existing_partitions

WRITERS = 8
MONTH = date(1987, 3, 1)  # a month no other test writes to
NAME = "y1987m03"


def _write_one(engine: Engine, n: int, start: threading.Barrier, outcomes: list[object]) -> None:
    try:
        with Session(engine) as session:
            # What a push does first: read meter_reading (ACCESS SHARE held to the end).
            session.execute(text("SELECT count(*) FROM meter_reading WHERE register_id = -1"))
            start.wait(30)
            at = datetime(1987, 3, 2 + n, 8, tzinfo=UTC)
            ensure_reading_partitions(session, [at])
            session.execute(
                text(
                    "INSERT INTO meter_reading (read_at, register_id, meter_id, value, source, "
                    "status, rule_set_version) VALUES (:at, -1, -1, :n, 'handheld', "
                    "'accepted', 1)"
                ),
                {"at": at, "n": n},
            )
            session.commit()
            outcomes.append("ok")
    except Exception as error:  # recorded: the test fails on it below
        outcomes.append(repr(error))


def test_concurrent_writers_creating_one_new_month_do_not_deadlock(engine: Engine) -> None:
    with Session(engine) as check:
        assert NAME not in existing_partitions(check)
    start, outcomes = threading.Barrier(WRITERS), []
    threads = [
        threading.Thread(target=_write_one, args=(engine, n, start, outcomes))
        for n in range(WRITERS)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert outcomes == ["ok"] * WRITERS
        with Session(engine) as check:
            assert NAME in existing_partitions(check)
            # every writer's row went through the parent into the one new partition
            assert (
                check.scalar(text(f"SELECT count(*) FROM {READING_PARTITION_SCHEMA}.{NAME}"))
                == WRITERS
            )
    finally:
        with Session(engine) as cleanup:
            cleanup.execute(text(f"DROP TABLE IF EXISTS {READING_PARTITION_SCHEMA}.{NAME}"))
            cleanup.commit()


def test_a_partition_made_inside_a_transaction_that_already_wrote_takes_its_rows(
    db: Session, engine: Engine
) -> None:
    """The caller's transaction had written to meter_reading before the month was made
    (its relation cache knew the old partitions): the new month still takes its row."""
    db.execute(text("SELECT count(*) FROM meter_reading WHERE register_id = -1"))
    month = date(1986, 7, 1)
    try:
        ensure_reading_partitions(db, [month])
        db.execute(
            text(
                "INSERT INTO meter_reading (read_at, register_id, meter_id, value, source, "
                "status, rule_set_version) VALUES ('1986-07-04T08:00:00Z', -1, -1, 1, "
                "'handheld', 'accepted', 1)"
            )
        )
        assert db.scalar(text(f"SELECT count(*) FROM {READING_PARTITION_SCHEMA}.y1986m07")) == 1
    finally:
        db.rollback()
        with Session(engine) as cleanup:
            cleanup.execute(text(f"DROP TABLE IF EXISTS {READING_PARTITION_SCHEMA}.y1986m07"))
            cleanup.commit()
