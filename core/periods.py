"""Business dates and billing periods in the utility's local calendar.

Timestamps are stored in UTC (``*_at``); a reading taken at 00:30 on 1 March in Cotonou
belongs to March even if it is still February in UTC somewhere else, so every month,
period and business date is computed in ``settings.timezone``. One module, so that
readings partitions, consumption, billing and reports agree on where a month starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from core.settings import get_settings


@lru_cache(maxsize=8)
def zone(name: str | None = None) -> ZoneInfo:
    """The utility's time zone (``KILOWATCH_TIMEZONE``) or ``name``."""
    return ZoneInfo(name or get_settings().timezone)


def month_start(day: date | datetime) -> date:
    """The first day of the month of ``day`` (a datetime is taken in the local calendar)."""
    if isinstance(day, datetime):
        day = local_date(day)
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month``'s (negative: before)."""
    index = month.year * 12 + (month.month - 1) + count
    return date(index // 12, index % 12 + 1, 1)


def next_month(month: date) -> date:
    return add_months(month, 1)


def month_starts(first: date, count: int) -> list[date]:
    """``count`` consecutive month starts from ``first``'s month."""
    start = month_start(first)
    return [add_months(start, i) for i in range(count)]


def months_between(first: date, last: date) -> int:
    """Whole months from ``first``'s month to ``last``'s month (same month: 0)."""
    return (last.year - first.year) * 12 + (last.month - first.month)


def local_date(instant: datetime, tz: str | None = None) -> date:
    """The business date of a UTC instant in the local calendar."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no place in the local calendar")
    return instant.astimezone(zone(tz)).date()


def local_midnight(day: date, tz: str | None = None) -> datetime:
    """The UTC instant at which local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


@dataclass(frozen=True, order=True)
class Period:
    """A span of local business days ``[start, end)``: a billing period, a month ..."""

    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts ({self.start} .. {self.end})")

    @classmethod
    def month(cls, month: date) -> Period:
        start = month_start(month)
        return cls(start, next_month(start))

    @classmethod
    def month_of(cls, instant: datetime, tz: str | None = None) -> Period:
        return cls.month(local_date(instant, tz))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def bounds_utc(self, tz: str | None = None) -> tuple[datetime, datetime]:
        """The UTC instants ``[from, to)`` of the period's local days."""
        return local_midnight(self.start, tz), local_midnight(self.end, tz)

    def split(self, at: date) -> tuple[Period, Period]:
        """The period cut at ``at`` (a tariff change, a move-in): both parts non-empty."""
        if not (self.start < at < self.end):
            raise ValueError(f"{at} does not fall strictly inside {self.start} .. {self.end}")
        return Period(self.start, at), Period(at, self.end)
