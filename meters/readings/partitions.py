"""Monthly partitions of ``meter_reading``, created on demand before a write.

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

from sqlalchemy import text
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
    """Create the month partitions covering ``instants`` that do not exist yet."""
    months = sorted({utc_month(i) for i in instants})
    if not months:
        return
    for month in (months[0], months[-1]):  # the last line of defence: no stray partition
        bounds.check(datetime.combine(month, time(0), tzinfo=UTC))
    existing = existing_partitions(session)
    missing = [m for m in months if partition_name(m) not in existing]
    if not missing:
        return
    lock_partitions(session)
    for month in missing:
        session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {READING_PARTITION_SCHEMA}.{partition_name(month)} "
                f"PARTITION OF meter_reading FOR VALUES {month_range(month)}"
            )
        )
