"""Cron rules in the utility's local calendar: the next instant a rule fires after another.

The arithmetic is Celery's own ``crontab`` (the same one beat uses), computed on naive
local wall-clock times so that "02:00" means 02:00 in ``settings.timezone``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery.schedules import crontab

from core.periods import zone


def parse(rule: str) -> crontab:
    """A 5-field rule ``minute hour day-of-month month day-of-week``; ValueError if not."""
    fields = rule.split()
    if len(fields) != 5:
        raise ValueError("a cron rule has 5 fields: minute hour day-of-month month day-of-week")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
    )


def next_after(rule: str, instant: datetime, tz: str | None = None) -> datetime:
    """The first UTC instant strictly after ``instant`` at which ``rule`` fires."""
    local = instant.astimezone(zone(tz)).replace(tzinfo=None, microsecond=0)
    schedule = parse(rule)
    # Celery's crontab asks its clock for "now": pin it to our instant (a test's clock).
    schedule.nowfun = lambda: local
    fire = local + schedule.remaining_estimate(local)
    if fire <= local:  # exactly on a firing minute: the next one
        fire = local + timedelta(minutes=1)
        schedule.nowfun = lambda: fire
        fire = fire + schedule.remaining_estimate(fire)
    result: datetime = fire.replace(tzinfo=zone(tz)).astimezone(UTC)
    return result
