"""Monthly partitions of ``meter_reading`` (UTC months), created on demand before a write.

There is no default partition: a row for a month without its partition would fail loudly
rather than land somewhere a later partition cannot be carved out of.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from meters.models import READING_PARTITION_SCHEMA

_LOCK_KEY = 7_311_004  # serialises partition creation between concurrent writers


def _month_start(value: date | datetime) -> date:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return value.replace(day=1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


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


def ensure_reading_partitions(session: Session, instants: Iterable[date | datetime]) -> None:
    """Create the month partitions covering ``instants`` that do not exist yet."""
    months = sorted({_month_start(i) for i in instants})
    if not months:
        return
    existing = existing_partitions(session)
    missing = [m for m in months if partition_name(m) not in existing]
    if not missing:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    for month in missing:
        name = partition_name(month)
        session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {READING_PARTITION_SCHEMA}.{name} "
                f"PARTITION OF meter_reading FOR VALUES FROM ('{month.isoformat()} 00:00+00') "
                f"TO ('{_next_month(month).isoformat()} 00:00+00')"
            )
        )


def ensure_partitions_for_table(session: Session, table: str, column: str = "read_at") -> None:
    """Partitions for every month present in ``column`` of a staging table."""
    months = session.scalars(
        text(
            f"SELECT DISTINCT date_trunc('month', {column} AT TIME ZONE 'UTC')::date "
            f"FROM {table} WHERE {column} IS NOT NULL"
        )
    ).all()
    ensure_reading_partitions(session, months)
