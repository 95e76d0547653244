"""Working days of the utility's country: no Saturday, no Sunday, no public holiday
(the ``holidays`` package, ``settings.country``)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from core.settings import get_settings


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year))


def is_working(day: date, country: str | None = None) -> bool:
    """A weekday that is not a public holiday of ``country`` (default: the utility's)."""
    if day.weekday() >= 5:
        return False
    return day not in _holidays(country or get_settings().country, day.year)


def add_working_days(day: date, count: int, country: str | None = None) -> date:
    """The ``count``-th working day after ``day`` (``count`` 0: ``day`` itself)."""
    current = day
    left = count
    while left > 0:
        current += timedelta(days=1)
        if is_working(current, country):
            left -= 1
    return current


def step_date(due: date, delay: int, unit: str, country: str | None = None) -> date:
    """The day a step ``delay`` days (``unit`` days or working_days) after ``due`` falls."""
    if unit == "working_days":
        return add_working_days(due, delay, country)
    return due + timedelta(days=delay)


def calendar(first: date, last: date, country: str | None = None) -> list[tuple[date, int, bool]]:
    """(day, working ordinal, working) for every day of ``[first, last]``: the ordinal
    counts the working days up to and including the day, so ``due`` plus ``n`` working
    days is the working day whose ordinal is ``ordinal(due) + n`` (set-based in SQL)."""
    rows = []
    ordinal = 0
    day = first
    while day <= last:
        working = is_working(day, country)
        ordinal += working
        rows.append((day, ordinal, working))
        day += timedelta(days=1)
    return rows
