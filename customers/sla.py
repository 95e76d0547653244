"""Service-level clocks counted in the utility's working days: weekends and the country's
public holidays (``holidays`` package, country from the deployment locale) do not count."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from core.settings import get_settings
from customers.enums import CaseType
from customers.normalize import default_region

# Working days allowed to resolve a case of each type (a utility's customer charter).
SLA_WORKING_DAYS: dict[CaseType, int] = {
    CaseType.COMPLAINT: 10,
    CaseType.CONNECTION_REQUEST: 15,
    CaseType.DATA_CORRECTION: 5,
    CaseType.METER_CHECK: 10,
    CaseType.DISPUTE: 20,
}


@lru_cache(maxsize=8)
def _calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def is_working_day(day: date, country: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _calendar(country or default_region())


def add_working_days(start: date, days: int, country: str | None = None) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current, country):
            remaining -= 1
    return current


def local_date(moment: datetime) -> date:
    """The utility's calendar date of an aware UTC instant."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


def is_breached(due_date: date, *, resolved_at: datetime | None, now: datetime) -> bool:
    """Late when resolved (or, still open, today is) after the due working day."""
    return local_date(resolved_at or now) > due_date
