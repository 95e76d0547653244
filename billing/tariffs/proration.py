"""The day-count rule, and the cutting of a billing period where its prices change.

**Day-count rule.** A billing period is the local business days ``[start, end)``: the first
day is in, the last day is out (a customer moving in on 5 March and out on 20 March pays
5..19 March, 15 days). Tariff quantities are monthly, and a period is measured in months:
each day counts ``1 / (days in its calendar month)`` of a month. So any whole calendar month
is exactly 1 month (28 or 31 days alike), 10 days of February are 10/28 and 1..15 January
plus 1..15 February is 15/31 + 15/28. Measures are exact fractions, rounded only when an
amount is billed.

**Segments.** A period is cut wherever something priced changes: a new tariff version,
a surcharge's first or last day, a season boundary. Each segment is billed with the
version in force on its days; monthly quantities (fixed charges, block widths, ceilings,
minimums, thresholds) are scaled by the segment's months, and the consumption of the period
is spread over the segments in proportion to their months (an even monthly consumption).
Consequently the same consumption per month reaches the same block in every segment, and
billing a period in two parts (each with its share of the kWh) gives the bill of the whole
up to the rounding of each line.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from billing.tariffs.definition import TariffDefinition
from billing.tariffs.errors import TariffNotInForceError
from core.periods import Period, add_months, month_start


@dataclass(frozen=True)
class DatedVersion:
    """One version of a tariff and the first day it is in force (until the next one's)."""

    effective_from: date
    definition: TariffDefinition
    version: int = 1


@dataclass(frozen=True)
class TariffVersions:
    """A tariff's versions in date order: what ``rate`` prices with (no database)."""

    code: str
    currency: str
    versions: tuple[DatedVersion, ...]

    def __post_init__(self) -> None:
        dates = [v.effective_from for v in self.versions]
        if not dates or dates != sorted(set(dates)):
            raise ValueError("versions must be given, in strictly increasing date order")

    def at(self, day: date) -> DatedVersion:
        """The version in force on ``day``."""
        found = [v for v in self.versions if v.effective_from <= day]
        if not found:
            raise TariffNotInForceError(
                f"tariff {self.code} is not in force on {day.isoformat()} "
                f"(its first version starts {self.versions[0].effective_from.isoformat()})"
            )
        return found[-1]


def months_in(period: Period) -> Fraction:
    """The period's length in months by the day-count rule."""
    total = Fraction(0)
    cursor = period.start
    while cursor < period.end:
        following = add_months(month_start(cursor), 1)
        stop = min(following, period.end)
        days_in_month = calendar.monthrange(cursor.year, cursor.month)[1]
        total += Fraction((stop - cursor).days, days_in_month)
        cursor = stop
    return total


@dataclass(frozen=True)
class Segment:
    """A stretch of the period with one version and one set of dated prices."""

    period: Period
    version: DatedVersion
    months: Fraction  # by the day-count rule
    share: Fraction  # of the period's consumption: months / the period's months


def _season_key(definition: TariffDefinition, month: int) -> tuple[bool, ...]:
    return tuple(e.months is None or month in e.months for e in definition.energy)


def _cuts(tariff: TariffVersions, period: Period) -> Iterator[date]:
    for version in tariff.versions:
        if period.start < version.effective_from < period.end:
            yield version.effective_from
    for version in tariff.versions:
        for surcharge in version.definition.surcharges:
            for day in (surcharge.valid_from, surcharge.valid_to):
                if day is not None and period.start < day < period.end:
                    yield day
    cursor = add_months(month_start(period.start), 1)
    while cursor < period.end:
        eve = cursor - timedelta(days=1)
        before, now = tariff.at(eve).definition, tariff.at(cursor).definition
        if _season_key(before, eve.month) != _season_key(now, cursor.month):
            yield cursor
        cursor = add_months(cursor, 1)


def segments(tariff: TariffVersions, period: Period) -> list[Segment]:
    """``period`` cut at every change of version, surcharge or season, in date order."""
    tariff.at(period.start)  # refuses a period starting before the tariff exists
    bounds = sorted({period.start, period.end, *_cuts(tariff, period)})
    parts = [Period(a, b) for a, b in itertools.pairwise(bounds)]
    months = [months_in(p) for p in parts]
    whole = sum(months, Fraction(0))
    return [
        Segment(period=p, version=tariff.at(p.start), months=m, share=m / whole)
        for p, m in zip(parts, months, strict=True)
    ]


def split_consumption(
    kwh: dict[str, Fraction], shares: Sequence[Fraction]
) -> list[dict[str, Fraction]]:
    """Each segment's kWh per register, by its share."""
    return [{register: value * share for register, value in kwh.items()} for share in shares]
