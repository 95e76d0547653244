"""Errors of the fraud domain (stable codes: clients branch on them)."""

from __future__ import annotations

from core.errors import EntityNotFoundError, InputInvalidError


class ZoneNotFoundError(EntityNotFoundError):
    """A transformer or feeder zone that does not exist (or lies outside the territory)."""

    code = "zone_not_found"
    title = "No such zone"


class PeriodRangeError(InputInvalidError):
    """A range of months that ends before it starts, or is too long to compute at once."""

    code = "period_range_invalid"
    title = "Invalid range of months"
