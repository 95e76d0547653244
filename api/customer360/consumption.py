"""Monthly consumption of a usage point from rows already fetched (no extra query), with the
meters domain's convention and arithmetic (``meters.consumption.derivation``): the kWh of
a month is the sum of the index intervals closed in it (start index, counted reads,
end index at removal), each across at most one rollover, times the multiplier."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from meters.enums import COUNTED_STATUSES
from meters.readings.rules import register_advance

COUNTED = {s.value for s in COUNTED_STATUSES}


@dataclass(frozen=True)
class _Point:
    at: datetime
    value: Decimal
    estimated: bool


def month_starts(first: datetime, count: int) -> list[datetime]:
    index = first.year * 12 + first.month - 1
    return [
        datetime((index + i) // 12, (index + i) % 12 + 1, 1, tzinfo=UTC) for i in range(count + 1)
    ]


def _timeline(
    inst: dict[str, Any], reads: list[dict[str, Any]], fetched_from: datetime
) -> list[_Point]:
    counted = sorted(
        (
            r
            for r in reads
            if r["status"] in COUNTED and r["installation_id"] == inst["installation_id"]
        ),
        key=lambda r: r["read_at"],
    )
    points = [
        _Point(r["read_at"], Decimal(r["value"]), r["source"] == "estimated") for r in counted
    ]
    if inst["start_index"] is not None and inst["installed_at"] >= fetched_from:
        points.insert(0, _Point(inst["installed_at"], Decimal(inst["start_index"]), False))
    # Installed before the fetched reads: the first fetched read opens the timeline.
    if inst["removed_at"] is not None and inst["end_index"] is not None:
        points.append(_Point(inst["removed_at"], Decimal(inst["end_index"]), False))
    return points


def monthly_consumption(
    installations: Iterable[dict[str, Any]],
    reads: list[dict[str, Any]],
    months: list[datetime],
    fetched_from: datetime,
) -> list[dict[str, Any]]:
    """One row per month [months[i], months[i+1]) of one usage point."""
    out = [
        {
            "month": m.strftime("%Y-%m"),
            "kwh": Decimal(0),
            "intervals": 0,
            "installations": set(),
            "includes_estimate": False,
            "has_actual_read": False,
        }
        for m in months[:-1]
    ]
    index = {m.strftime("%Y-%m"): i for i, m in enumerate(months[:-1])}
    for inst in installations:
        points = _timeline(inst, reads, fetched_from)
        for previous, current in itertools.pairwise(points):
            slot = index.get(current.at.astimezone(UTC).strftime("%Y-%m"))
            if slot is None:
                continue
            advance = register_advance(previous.value, current.value, inst["dial_digits"])
            row = out[slot]
            row["kwh"] += advance * Decimal(inst["multiplier"])
            row["intervals"] += 1
            row["installations"].add(inst["installation_id"])
            row["includes_estimate"] |= current.estimated
    for r in reads:
        slot = index.get(r["read_at"].astimezone(UTC).strftime("%Y-%m"))
        if slot is not None and r["status"] in COUNTED and r["source"] != "estimated":
            out[slot]["has_actual_read"] = True
    for row in out:
        row["meter_changed"] = len(row.pop("installations")) > 1
        row["kwh"] = row["kwh"].normalize() + 0
    return out
