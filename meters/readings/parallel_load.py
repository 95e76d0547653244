"""A second PostgreSQL backend for big loads: one backend COPYs ~400k rows/s, two share the
machine's cores.

PostgreSQL cannot share a transaction between connections, so the helper loads only months
whose partition does not exist yet, each into a standalone table shaped like
``meter_reading`` (``kw_load_<job>_<month>``, with the partition's range as a CHECK so the
attach needs no scan; created and committed empty first, so that the helper holds no lock
on the parent while the caller creates its own partitions), indexed after the load (a sorted build, cheaper than growing the
index row by row), and committed. The caller's transaction then ATTACHes those tables as
partitions: until it commits, ``meter_reading`` shows none of their rows, and if it rolls
back they stay detached, invisible, and are dropped by the next bulk load (the job holds a
transaction-scoped advisory lock on its key, so a live job's tables are never dropped).
Anything unexpected in the helper (a lock it cannot get at once, an error) gives its months
back to the caller's own connection.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import Format, copy_in
from core.locks import LockSpace, try_xact_lock, xact_lock
from meters.models import READING_PARTITION_SCHEMA
from meters.readings.partitions import (
    existing_partitions,
    lock_partitions,
    month_bounds,
    month_range,
    partition_name,
)

PREFIX = "kw_load_"
MIN_ROWS = 400_000  # below this, a second connection costs more than it saves


def _check(month: date) -> str:
    """The partition's range as a CHECK (so that ATTACH needs no scan)."""
    low, high = month_bounds(month)
    return f"read_at >= {low} AND read_at < {high}"


def job_number(job_key: str) -> int:
    return zlib.crc32(job_key.encode()) & 0x7FFFFFFF


def table_name(job: int, month: date) -> str:
    return f"{PREFIX}{job}_{partition_name(month)}"


def drop_abandoned(session: Session) -> None:
    """Drop the load tables of jobs that ended without attaching them (rolled back)."""
    tables = session.scalars(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind = 'r' AND c.relname LIKE :prefix "
            "AND NOT c.relispartition"
        ),
        {"schema": READING_PARTITION_SCHEMA, "prefix": PREFIX + "%"},
    ).all()
    for name in tables:
        job = int(name[len(PREFIX) :].split("_", 1)[0])
        if try_xact_lock(session, LockSpace.READING_BULK_JOB, job):
            session.execute(text(f'DROP TABLE IF EXISTS {READING_PARTITION_SCHEMA}."{name}"'))


class HelperLoad:
    """Loads ``months`` (with ``prepare(month) -> COPY stream parts``) on a new connection."""

    def __init__(
        self,
        session: Session,
        *,
        job_key: str,
        months: list[date],
        columns: str,
        format: Format,
        prepare: Callable[[date], list[Any]],
    ) -> None:
        self.job = job_number(job_key)
        self.months = months
        xact_lock(session, LockSpace.READING_BULK_JOB, self.job)
        self._engine = session.connection().engine
        self._columns, self._format, self._prepare = columns, format, prepare
        self.loaded: list[date] = []
        self.error: BaseException | None = None
        self.created = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readings-helper-load")
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '1s'"))
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                for month in self.months:  # shaped like the parent, before it is locked
                    conn.execute(
                        text(
                            f"CREATE TABLE {self._qualified(month)} (LIKE meter_reading "
                            "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE, "
                            f"CHECK ({_check(month)}))"
                        )
                    )
                conn.commit()  # empty, and no lock left on the parent, which this load needs
                self.created.set()
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                with ThreadPoolExecutor(1) as pool:  # the next month's stream meanwhile
                    pending = pool.submit(self._prepare, self.months[0])
                    for i, month in enumerate(self.months):
                        parts = pending.result()
                        if i + 1 < len(self.months):
                            pending = pool.submit(self._prepare, self.months[i + 1])
                        copy_in(
                            conn.connection.driver_connection,  # type: ignore[arg-type]
                            f"{self._qualified(month)} ({self._columns})",
                            parts,
                            format=self._format,
                        )
                for month in self.months:
                    conn.execute(
                        text(
                            f"ALTER TABLE {self._qualified(month)} ADD UNIQUE "
                            "(register_id, read_at, source)"
                        )
                    )
                    conn.execute(
                        text(
                            f"CREATE INDEX ON {self._qualified(month)} (register_id, read_at) "
                            "WHERE source = 'estimated' AND status IN ('accepted', 'flagged')"
                        )
                    )
                conn.commit()
                self.loaded = list(self.months)
        except BaseException as error:
            self.error = error
        finally:
            self.created.set()

    def _qualified(self, month: date) -> str:
        return f"{READING_PARTITION_SCHEMA}.{table_name(self.job, month)}"

    def wait_created(self) -> None:
        self.created.wait()

    def attach(self, session: Session) -> list[date]:
        """Attach the loaded tables as partitions; returns the months NOT loaded (the caller
        must load them itself)."""
        self._thread.join()
        if self.error is not None or not self.loaded:
            for month in self.months:  # committed or not, nothing of them may stay
                session.execute(text(f"DROP TABLE IF EXISTS {self._qualified(month)}"))
            return list(self.months)
        lock_partitions(session)
        existing = existing_partitions(session)
        for month in self.loaded:
            name = self._qualified(month)
            if partition_name(month) in existing:  # a concurrent load made it meanwhile
                session.execute(
                    text(
                        f"INSERT INTO meter_reading ({self._all_columns(session)}) "
                        f"SELECT {self._all_columns(session)} FROM {name}"
                    )
                )
                session.execute(text(f"DROP TABLE {name}"))
                continue
            session.execute(
                text(
                    f"ALTER TABLE meter_reading ATTACH PARTITION {name} FOR VALUES {month_range(month)}"
                )
            )
            session.execute(text(f"ALTER TABLE {name} RENAME TO {partition_name(month)}"))
        return []

    @staticmethod
    def _all_columns(session: Session) -> str:
        names = session.scalars(
            text(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'meter_reading'::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            )
        ).all()
        return ", ".join(names)
