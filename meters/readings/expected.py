"""What the next read of a usage point's meter should show: per register, the previous
counted index and the index range validation will accept without flagging it.

The range is the judge's own (``timeline.history_rate`` and ``timeline.expected_range``,
under the active rule set), turned from kWh into dial units: ``previous + kWh /
multiplier``, wrapped past the dial capacity. A reader's handheld shows it so that an
implausible value is confirmed on the spot; a field round stores it per stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from customers.models import UsagePoint
from meters.enums import COUNTED_STATUSES, RegisterSet
from meters.models import Meter, MeterInstallation, Reading, Register
from meters.readings.rule_sets import active_rule_set
from meters.readings.rules import RuleParameters, dial_capacity
from meters.readings.timeline import US_PER_DAY, advances, expected_range, history_rate


@dataclass(frozen=True)
class RegisterExpectation:
    """One register's previous counted index (or the installation's start index) and
    the accepted range of the next one (None where the rules set no bound)."""

    previous: Decimal
    previous_at: datetime
    low: Decimal | None
    high: Decimal | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "previous": str(self.previous),
            "previous_at": self.previous_at.isoformat(),
            "low": None if self.low is None else str(self.low),
            "high": None if self.high is None else str(self.high),
        }


@dataclass(frozen=True)
class ExpectedRead:
    """The main meter fitted at a usage point at an instant, and what each register
    should show then."""

    usage_point_id: int
    meter_id: int
    meter_serial: str
    installation_id: int
    registers: dict[str, RegisterExpectation]


def expected_reads(
    session: Session, *, usage_point_ids: Sequence[int], at: datetime
) -> dict[int, ExpectedRead]:
    """Per usage point (those with a main meter fitted at ``at``): the expected read at
    ``at``. Reads after ``at`` are ignored; rejected and superseded reads never count."""
    if not usage_point_ids:
        return {}
    rules = active_rule_set(session).parameters
    fitted = session.execute(
        select(MeterInstallation, Meter, UsagePoint.category)
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .join(UsagePoint, UsagePoint.id == MeterInstallation.usage_point_id)
        .where(
            MeterInstallation.usage_point_id.in_(list(usage_point_ids)),
            MeterInstallation.register_set == RegisterSet.MAIN.value,
            MeterInstallation.installed_at <= at,
            or_(MeterInstallation.removed_at.is_(None), MeterInstallation.removed_at > at),
        )
    ).all()
    if not fitted:
        return {}
    meter_ids = [meter.id for _inst, meter, _cat in fitted]
    registers = session.execute(
        select(Register.id, Register.meter_id, Register.code)
        .where(Register.meter_id.in_(meter_ids))
        .order_by(Register.meter_id, Register.code)
    ).all()
    history = _recent_reads(session, fitted, registers, at, rules.history_reads)
    by_meter: dict[int, list[tuple[int, str]]] = {}
    for register_id, meter_id, code in registers:
        by_meter.setdefault(meter_id, []).append((register_id, code))
    result: dict[int, ExpectedRead] = {}
    for installation, meter, category in fitted:
        expectations = {
            code: _expect(
                installation,
                meter,
                rules.category_kwh_per_day.get(category, float("nan")),
                code,
                history.get((register_id, installation.id), []),
                at,
                rules,
            )
            for register_id, code in by_meter.get(meter.id, [])
        }
        result[installation.usage_point_id] = ExpectedRead(
            usage_point_id=installation.usage_point_id,
            meter_id=meter.id,
            meter_serial=meter.serial,
            installation_id=installation.id,
            registers=expectations,
        )
    return result


def _recent_reads(
    session: Session,
    fitted: Sequence[tuple[MeterInstallation, Meter, str]],
    registers: Sequence[tuple[int, int, str]],
    at: datetime,
    keep: int,
) -> dict[tuple[int, int], list[tuple[datetime, Decimal]]]:
    """The last ``keep`` counted reads of each (register, installation) before ``at``,
    oldest first (all a history needs: ``timeline.history_rate``)."""
    installations = [inst.id for inst, _m, _c in fitted]
    earliest = min(inst.installed_at for inst, _m, _c in fitted)
    ranked = (
        select(
            Reading.register_id,
            Reading.installation_id,
            Reading.read_at,
            Reading.value,
            func.row_number()
            .over(
                partition_by=(Reading.register_id, Reading.installation_id),
                order_by=Reading.read_at.desc(),
            )
            .label("rank"),
        )
        .where(
            Reading.register_id.in_([r[0] for r in registers]),
            Reading.installation_id.in_(installations),
            Reading.status.in_([s.value for s in COUNTED_STATUSES]),
            Reading.read_at >= earliest,  # partition pruning
            Reading.read_at < at,
        )
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.register_id, ranked.c.installation_id, ranked.c.read_at, ranked.c.value)
        .where(ranked.c.rank <= keep)
        .order_by(ranked.c.register_id, ranked.c.installation_id, ranked.c.read_at)
    ).all()
    reads: dict[tuple[int, int], list[tuple[datetime, Decimal]]] = {}
    for register_id, installation_id, read_at, value in rows:
        reads.setdefault((register_id, installation_id), []).append((read_at, value))
    return reads


def _expect(
    installation: MeterInstallation,
    meter: Meter,
    kwh_day: float,
    code: str,
    reads: list[tuple[datetime, Decimal]],
    at: datetime,
    rules: RuleParameters,
) -> RegisterExpectation:
    start = Decimal(str(installation.start_indexes.get(code, 0)))
    previous, previous_at = (
        (reads[-1][1], reads[-1][0]) if reads else (start, installation.installed_at)
    )
    capacity = dial_capacity(meter.dial_digits)
    multiplier = float(meter.multiplier)
    # The timeline of the stored reads followed by the read to come (its own kWh unused).
    times = np.array([_us(t) for t, _v in reads] + [_us(at)], dtype=np.int64)
    values = np.array([float(v) for _t, v in reads], dtype=float)
    before = np.concatenate([[float(start)], values[:-1]]) if len(values) else values
    adv, _rollover, _negative = advances(
        before, values, np.full(len(values), float(capacity)), rules.rollover_max_fraction
    )
    kwh = np.concatenate([np.where(np.isnan(adv), 0.0, adv) * multiplier, [0.0]])
    first = np.zeros(len(times), dtype=bool)
    first[0] = True
    rate = history_rate(first, times, kwh, rules)[-1:]
    days = np.array([(_us(at) - _us(previous_at)) / US_PER_DAY])
    low, high = expected_range(days, rate, np.array([kwh_day]), rules)
    return RegisterExpectation(
        previous=previous,
        previous_at=previous_at,
        low=_index(previous, low[0], multiplier, capacity, ROUND_FLOOR),
        high=_index(previous, high[0], multiplier, capacity, ROUND_CEILING),
    )


def _index(
    previous: Decimal, kwh: float, multiplier: float, capacity: int, rounding: str
) -> Decimal | None:
    """The dial index ``kwh`` after ``previous``, in whole units, wrapped past capacity."""
    if np.isnan(kwh):
        return None
    advance = (Decimal(repr(float(kwh))) / Decimal(repr(float(multiplier)))).quantize(
        Decimal(1), rounding
    )
    return (previous + advance) % capacity


def _us(instant: datetime) -> int:
    return int(instant.timestamp() * 1_000_000)
