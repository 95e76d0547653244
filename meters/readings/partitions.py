"""Monthly partitions of ``meter_reading``, created on demand before a write.

A missing partition is made in a short transaction of its own, on a second connection,
committed before the caller goes on: a standalone table shaped like the parent (its range
as a CHECK), then ``ATTACH PARTITION``, which takes only SHARE UPDATE EXCLUSIVE on
``meter_reading``. That lock does not conflict with the ACCESS SHARE / ROW EXCLUSIVE locks
of transactions that read or write reads, the caller's own included, so creating a month
never waits for a concurrent push (``CREATE TABLE ... PARTITION OF`` takes ACCESS
EXCLUSIVE: every writer that had already read ``meter_reading`` waited for every other
one, a deadlock the first push of each month). Writers take turns on the advisory lock
``READING_PARTITIONS`` only to create. An empty month partition left by a caller that
rolls back is harmless. When the second connection cannot get its locks within
``_OWN_TRANSACTION_LOCK_TIMEOUT`` (the caller itself holds the parent, e.g. a bulk load
that attached months earlier in its transaction), the partition is made in the caller's
transaction instead, the same way.

The partitioning is by UTC month (a partition's bounds are ``YYYY-MM-01 00:00+00``): it
only spreads storage and keeps indexes small, so it needs no calendar but a fixed one, and
a read's partition never moves when the utility's time zone changes. Billing periods and
every other business month are local (``core.periods``); they may span two partitions.

There is no default partition: a row for a month without its partition would fail loudly
rather than land somewhere a later partition cannot be carved out of. A month outside the
instants a reading may carry (``meters.readings.bounds``) is never created.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.locks import LockSpace, xact_lock
from core.periods import next_month
from meters.models import READING_PARTITION_SCHEMA
from meters.readings import bounds


def utc_month(value: date | datetime) -> date:
    """The first day of the UTC month holding ``value`` (a date is taken as it is)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return value.replace(day=1)


def month_bounds(month: date) -> tuple[str, str]:
    """SQL literals of the first instant of the UTC ``month`` and of the next one."""
    return f"'{month.isoformat()} 00:00+00'", f"'{next_month(month).isoformat()} 00:00+00'"


def month_range(month: date) -> str:
    """``FOR VALUES`` bounds of the partition of the UTC ``month``."""
    low, high = month_bounds(month)
    return f"FROM ({low}) TO ({high})"


def partition_name(month: date) -> str:
    return f"y{month.year:04d}m{month.month:02d}"


def existing_partitions(session: Session) -> set[str]:
    """Names of the month partitions of ``meter_reading``."""
    return set(
        session.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'meter_reading'::regclass"
            )
        )
    )


def lock_partitions(session: Session) -> None:
    """Serialise partition creation and attachment between concurrent writers."""
    xact_lock(session, LockSpace.READING_PARTITIONS)


def ensure_reading_partitions(session: Session, instants: Iterable[date | datetime]) -> None:
    """Create the month partitions covering ``instants`` that do not exist yet (committed
    at once, in a transaction of their own; see the module's docstring)."""
    months = sorted({utc_month(i) for i in instants})
    if not months:
        return
    for month in (months[0], months[-1]):  # the last line of defence: no stray partition
        bounds.check(datetime.combine(month, time(0), tzinfo=UTC))
    existing = existing_partitions(session)
    missing = [m for m in months if partition_name(m) not in existing]
    if not missing:
        return
    try:
        with session.connection().engine.connect() as own:
            own.execute(text(f"SET LOCAL lock_timeout = '{_OWN_TRANSACTION_LOCK_TIMEOUT}'"))
            _create(own, missing)
            own.commit()
    except OperationalError as error:  # lock_not_available: the caller holds what it needs
        if getattr(error.orig, "sqlstate", None) != "55P03":
            raise
        _create(session.connection(), missing)
    for month in missing:  # the caller's relation cache learns of the new partitions now
        session.execute(text(f"LOCK TABLE {_qualified(month)} IN ACCESS SHARE MODE"))


_OWN_TRANSACTION_LOCK_TIMEOUT = "5s"


def _qualified(month: date) -> str:
    return f"{READING_PARTITION_SCHEMA}.{partition_name(month)}"


def _create(conn: Connection, months: list[date]) -> None:
    """Under the partition lock, make the months still missing: a table shaped like the
    parent with its range as a CHECK (so the attach scans nothing), then attached."""
    xact_lock(conn, LockSpace.READING_PARTITIONS)
    existing = set(
        conn.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'meter_reading'::regclass"
            )
        )
    )
    for month in months:
        if partition_name(month) in existing:
            continue  # a concurrent writer made it meanwhile
        low, high = month_bounds(month)
        name = _qualified(month)
        conn.execute(
            text(
                f"CREATE TABLE {name} (LIKE meter_reading INCLUDING DEFAULTS "
                "INCLUDING CONSTRAINTS INCLUDING STORAGE, "
                f"CONSTRAINT {partition_name(month)}_range "
                f"CHECK (read_at >= {low} AND read_at < {high}))"
            )
        )
        conn.execute(text(f"ALTER TABLE meter_reading ATTACH PARTITION {name} {_for(month)}"))


def _for(month: date) -> str:
    return f"FOR VALUES {month_range(month)}"
