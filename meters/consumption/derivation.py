"""Consumption arithmetic over index timelines (pure, exact Decimal).

Convention (billing by read): the consumption of a period [from, to) is the sum of the
intervals *closed* in it, an interval running from one index of an installation to the
next: the installation's start index, its counted reads, its end index at removal. So a
meter replaced mid-period contributes (its end index - its previous read) and the new meter
(its read - its start index); each advance crosses at most one rollover and is multiplied
by the meter's multiplier.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from meters.readings.rules import register_advance


@dataclass(frozen=True)
class IndexPoint:
    at: datetime
    value: Decimal


@dataclass
class InstallationTimeline:
    """One register of one meter over one installation at a usage point."""

    dial_digits: int
    multiplier: Decimal
    start: IndexPoint
    reads: list[IndexPoint] = field(default_factory=list)
    end: IndexPoint | None = None

    def points(self) -> list[IndexPoint]:
        points = [self.start, *sorted(self.reads, key=lambda p: p.at)]
        return [*points, self.end] if self.end else points


def interval_kwh(
    timeline: InstallationTimeline, period_from: datetime, period_to: datetime
) -> Decimal:
    points = timeline.points()
    total = Decimal(0)
    for previous, current in itertools.pairwise(points):
        if period_from <= current.at < period_to:
            total += register_advance(previous.value, current.value, timeline.dial_digits)
    return total * timeline.multiplier


def consumption_kwh(
    timelines: Iterable[InstallationTimeline], period_from: datetime, period_to: datetime
) -> Decimal:
    """kWh of one usage point's register over [period_from, period_to)."""
    return sum((interval_kwh(t, period_from, period_to) for t in timelines), Decimal(0))
