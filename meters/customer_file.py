"""The meters domain's part of the customer file (``customers.customer_file``): each usage
point's meters (one row per installation), its readings of the window (status and reason
codes) and its monthly consumption for the chart; and finding a customer by a meter
serial in customer search.

Registered when the composition root imports this module. Monthly consumption follows
the domain's convention (``meters.consumption.derivation``): the kWh of a month is the
sum of the index intervals closed in it (start index, counted reads, end index at
removal), each across at most one rollover, times the multiplier. Months are the
utility's local calendar months (``core.periods``).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, literal, select
from sqlalchemy.orm import Session

from core.periods import local_date
from customers.customer_file import FileScope, register_section
from customers.models import Contract, ContractRoleAssignment
from customers.search import register_search_source
from meters.enums import COUNTED_STATUSES
from meters.models import Meter, MeterInstallation, Reading, Register
from meters.readings.rules import register_advance

COUNTED = {s.value for s in COUNTED_STATUSES}


def _installations(session: Session, usage_point_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            MeterInstallation.usage_point_id,
            Meter.id.label("meter_id"),
            Meter.serial,
            Meter.meter_type,
            Meter.make,
            Meter.model,
            Meter.dial_digits,
            Meter.multiplier,
            Meter.status,
            MeterInstallation.id.label("installation_id"),
            MeterInstallation.register_set,
            MeterInstallation.installed_at,
            MeterInstallation.removed_at,
            MeterInstallation.removal_reason,
            MeterInstallation.start_indexes["total"].astext.label("start_index"),
            MeterInstallation.end_indexes["total"].astext.label("end_index"),
            Register.id.label("register_id"),
        )
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .outerjoin(Register, and_(Register.meter_id == Meter.id, Register.code == "total"))
        .where(MeterInstallation.usage_point_id.in_(usage_point_ids))
        .order_by(MeterInstallation.installed_at, MeterInstallation.id)
    ).all()
    return [dict(r._mapping) for r in rows]


def _readings(
    session: Session, installs: list[dict[str, Any]], since: datetime
) -> list[dict[str, Any]]:
    """Reads of the installations' 'total' registers since ``since`` (time-of-use registers
    belong to the meter file). Found by register, the readings table's only index, and kept
    to the usage points concerned (a meter may have served elsewhere before)."""
    registers = sorted({i["register_id"] for i in installs if i["register_id"] is not None})
    if not registers:
        return []
    usage_points = sorted({i["usage_point_id"] for i in installs})
    rows = session.execute(
        select(
            Reading.id,
            Reading.read_at,
            Reading.usage_point_id,
            Reading.installation_id,
            Reading.meter_id,
            Reading.value,
            Reading.source,
            Reading.quality,
            Reading.status,
            Reading.reason_codes,
            Reading.estimation_method,
        )
        .where(
            Reading.register_id.in_(registers),
            Reading.read_at >= since,
            Reading.usage_point_id.in_(usage_points),
        )
        .order_by(Reading.read_at, Reading.id)
    ).all()
    return [dict(r._mapping) for r in rows]


# --- monthly consumption from rows already fetched (no extra query) ---------------------


@dataclass(frozen=True)
class _Point:
    at: datetime
    value: Decimal
    estimated: bool


def _month_label(moment: datetime) -> str:
    return local_date(moment).strftime("%Y-%m")


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
    months: list[str],
    fetched_from: datetime,
) -> list[dict[str, Any]]:
    """One row per local month (``YYYY-MM`` in ``months``) of one usage point."""
    out: list[dict[str, Any]] = [
        {
            "month": month,
            "kwh": Decimal(0),
            "intervals": 0,
            "installations": set(),
            "includes_estimate": False,
            "has_actual_read": False,
        }
        for month in months
    ]
    index = {month: i for i, month in enumerate(months)}
    for inst in installations:
        points = _timeline(inst, reads, fetched_from)
        for previous, current in itertools.pairwise(points):
            slot = index.get(_month_label(current.at))
            if slot is None:
                continue
            advance = register_advance(previous.value, current.value, inst["dial_digits"])
            row = out[slot]
            row["kwh"] += advance * Decimal(inst["multiplier"])
            row["intervals"] += 1
            row["installations"].add(inst["installation_id"])
            row["includes_estimate"] |= current.estimated
    for r in reads:
        slot = index.get(_month_label(r["read_at"]))
        if slot is not None and r["status"] in COUNTED and r["source"] != "estimated":
            out[slot]["has_actual_read"] = True
    for row in out:
        row["meter_changed"] = len(row.pop("installations")) > 1
        row["kwh"] = row["kwh"].normalize() + 0
    return out


# --- the section --------------------------------------------------------------------


def meters_section(scope: FileScope) -> None:
    """Each usage point's meters, readings of the window and monthly consumption; in a
    customer's file only what falls in the customer's own contract periods."""
    up_ids = scope.usage_point_ids
    installs = _installations(scope.session, up_ids) if up_ids else []
    fetched_from = scope.window.fetched_from
    reads = _readings(scope.session, installs, fetched_from)
    installs_by_up: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for inst in installs:
        installs_by_up[inst["usage_point_id"]].append(inst)
    reads_by_up: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for read in reads:
        reads_by_up[read["usage_point_id"]].append(read)
    serial = {i["meter_id"]: i["serial"] for i in installs}
    window_from, months = scope.window.readings_from, scope.window.labels
    for up in scope.usage_points:
        up_id, up_reads = up["id"], reads_by_up[up["id"]]
        consumption = monthly_consumption(installs_by_up[up_id], up_reads, months, fetched_from)
        up["meters"] = installs_by_up[up_id]
        up["readings"] = [
            {**r, "meter_serial": serial.get(r["meter_id"], "")}
            for r in up_reads
            if r["read_at"] >= window_from and scope.in_spans(up_id, r["read_at"])
        ]
        # The current month appears once something closed in it.
        up["consumption"] = [
            c
            for c in consumption
            if (c["intervals"] or c["month"] != scope.window.current_label)
            and scope.month_in_spans(up_id, c["month"])
        ]


def parties_by_meter_serial(query: str) -> Select[Any] | None:
    """Search source: the parties with a role on a contract at a usage point where the meter
    with this serial is (or was) installed; the current occupants rank first."""
    serial = query.strip()
    if len(serial) < 4 or " " in serial:
        return None
    points = (
        select(MeterInstallation.usage_point_id)
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .where(Meter.serial.in_({serial, serial.upper()}))
    )
    score = case((Contract.status == "active", 1.0), else_=0.8)
    return (
        select(
            ContractRoleAssignment.party_id.label("party_id"),
            score.label("score"),
            literal("meter_serial").label("matched_on"),
        )
        .join(Contract, Contract.id == ContractRoleAssignment.contract_id)
        .where(Contract.usage_point_id.in_(points))
    )


register_section("meters", meters_section)
# GET /api/v1/customers/search?q=<serial> finds the customer behind a meter.
register_search_source("meter_serial", parties_by_meter_serial)
