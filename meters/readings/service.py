"""Recording single reads, estimating missing ones, listing a register's history.

A single read goes through exactly the same pipeline (parse -> resolve -> judge -> write)
as a file of five million (``meters.readings.importer``), so the two can never judge
differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from sqlalchemy import DateTime, String, and_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.context import Actor
from customers.models import UsagePoint
from meters.enums import COUNTED_STATUSES, ReadingQuality, ReadingSource, ReadingStatus
from meters.errors import InstallationNotFoundError, ReadingInvalidError, RegisterNotFoundError
from meters.models import Meter, MeterInstallation, Reading, Register
from meters.readings import bounds, importer
from meters.readings.estimation import estimate_consumption
from meters.readings.partitions import ensure_reading_partitions
from meters.readings.rule_sets import active_rule_set
from meters.readings.rules import dial_capacity
from meters.schemas import ReadingCreate, ReadingOutcome, ReadingRead

SECONDS_PER_DAY = 86400.0


def record_readings(
    session: Session, *, readings: Sequence[ReadingCreate], actor: Actor | None = None
) -> list[ReadingOutcome]:
    """Validate and store reads (each audited row by row); return each one's outcome in
    input order. A read already stored under its natural key comes back as ``duplicate``."""
    for reading in readings:  # before anything (a partition above all) is made for it
        bounds.check(reading.read_at)
    if any(r.source == ReadingSource.ESTIMATED for r in readings):
        raise ReadingInvalidError("estimates are computed by Kilowatch, not recorded")
    report = importer.load_rows(
        session, [_row(r, actor) for r in readings], job_key=None, actor=actor
    )
    # A key is new when some row of this load made it; otherwise it was stored before.
    made = {_key_of(r) for r, fresh in zip(readings, report.fresh_rows, strict=True) if fresh}
    stored = _stored(session, readings)
    return [
        ReadingOutcome(
            **ReadingRead.model_validate(stored[_key_of(r)]).model_dump(),
            duplicate=_key_of(r) not in made,
        )
        for r in readings
    ]


def _row(reading: ReadingCreate, actor: Actor | None) -> dict[str, object]:
    return {
        "serial": reading.meter_serial,
        "register": reading.register_code.value,
        "read_at": reading.read_at.isoformat(),
        "value": reading.value,
        "source": reading.source.value,
        "quality": reading.quality.value,
        "reader_id": actor.user_id if actor else None,
        "latitude": reading.latitude,
        "longitude": reading.longitude,
        "photo_sha256": reading.photo_sha256,
    }


def _key_of(reading: ReadingCreate) -> tuple[str, str, datetime, str]:
    return (
        reading.meter_serial,
        reading.register_code.value,
        reading.read_at.astimezone(UTC),
        reading.source.value,
    )


def _stored_keys():  # type: ignore[no-untyped-def]
    return (
        func.unnest(
            bindparam("serials", type_=ARRAY(String)),
            bindparam("codes", type_=ARRAY(String)),
            bindparam("read_ats", type_=ARRAY(DateTime(timezone=True))),
            bindparam("sources", type_=ARRAY(String)),
        )
        .table_valued("serial", "code", "read_at", "source")
        .render_derived(with_types=False)
    )


def _stored(session: Session, readings: Sequence[ReadingCreate]) -> dict[tuple, Reading]:
    if any(r.source == ReadingSource.ESTIMATED for r in readings):
        raise ReadingInvalidError("estimates are computed by Kilowatch, not recorded")
    # The keys as four arrays joined to meter and register, so that each read is found by
    # the unique (register_id, read_at, source) index of its month's partition; the
    # statement's text is the same for every call (compiled once, not per batch).
    keys = _stored_keys()
    params = {
        "serials": [r.meter_serial for r in readings],
        "codes": [r.register_code.value for r in readings],
        "read_ats": [r.read_at for r in readings],
        "sources": [r.source.value for r in readings],
    }
    rows = session.execute(
        select(Meter.serial, Register.code, Reading)
        .select_from(keys)
        .join(Meter, Meter.serial == keys.c.serial)
        .join(Register, and_(Register.meter_id == Meter.id, Register.code == keys.c.code))
        .join(
            Reading,
            and_(
                Reading.register_id == Register.id,
                Reading.read_at == keys.c.read_at,
                Reading.source == keys.c.source,
            ),
        ),
        params,
    ).all()
    return {(s, c, r.read_at.astimezone(UTC), r.source): r for s, c, r in rows}


def estimate_reading(
    session: Session, *, register_id: int, at: datetime, actor: Actor | None = None
) -> Reading:
    """Store an estimated index for ``register_id`` at ``at`` (method recorded: seasonal
    history, recent history or category profile). Idempotent on (register, at)."""
    register = session.get(Register, register_id)
    if register is None:
        raise RegisterNotFoundError(f"no register {register_id}")
    existing = session.scalars(
        select(Reading).where(
            Reading.register_id == register_id,
            Reading.read_at == at,
            Reading.source == ReadingSource.ESTIMATED,
        )
    ).one_or_none()
    if existing is not None:
        return existing
    bounds.check(at)
    meter = session.get(Meter, register.meter_id)
    assert meter is not None
    installation = session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.meter_id == meter.id,
            MeterInstallation.installed_at <= at,
            or_(MeterInstallation.removed_at.is_(None), MeterInstallation.removed_at > at),
        )
    ).one_or_none()
    if installation is None:
        raise InstallationNotFoundError(
            f"meter {meter.serial} is not installed at {at.isoformat()}"
        )
    reads = session.scalars(
        select(Reading)
        .where(
            Reading.register_id == register_id,
            Reading.installation_id == installation.id,
            Reading.status.in_(COUNTED_STATUSES),
            Reading.read_at < at,
        )
        .order_by(Reading.read_at)
    ).all()
    start = Decimal(str(installation.start_indexes[register.code]))
    times, values = [installation.installed_at], [start]
    for read in reads:
        times.append(read.read_at)
        values.append(read.value)
    cumulative = _cumulative_kwh(values, meter.dial_digits, meter.multiplier)
    usage_point = session.get(UsagePoint, installation.usage_point_id)
    rules = active_rule_set(session)
    profile = rules.parameters.category_kwh_per_day.get(
        usage_point.category if usage_point else "", 0.0
    )
    origin = times[0]
    estimate = estimate_consumption(
        times=np.array([(t - origin).total_seconds() / SECONDS_PER_DAY for t in times]),
        cumulative_kwh=cumulative,
        at=(at - origin).total_seconds() / SECONDS_PER_DAY,
        category_kwh_per_day=profile,
        parameters=rules.parameters.estimation,
    )
    advance = (Decimal(str(estimate.kwh)) / meter.multiplier).quantize(Decimal(1), ROUND_HALF_UP)
    value = (values[-1] + advance) % dial_capacity(meter.dial_digits)
    ensure_reading_partitions(session, [at])
    reading = Reading(
        read_at=at,
        register_id=register.id,
        meter_id=meter.id,
        installation_id=installation.id,
        usage_point_id=installation.usage_point_id,
        value=value,
        source=ReadingSource.ESTIMATED,
        quality=ReadingQuality.ESTIMATED,
        status=ReadingStatus.ACCEPTED,
        reason_codes=[],
        rule_set_version=rules.version,
        estimation_method=estimate.method.value,
        reader_id=actor.user_id if actor else None,
    )
    session.add(reading)
    session.flush()
    return reading


def _cumulative_kwh(values: list[Decimal], dial_digits: int, multiplier: Decimal) -> np.ndarray:
    capacity = float(dial_capacity(dial_digits))
    steps = np.diff(np.array([float(v) for v in values]))
    steps = np.where(steps < 0, steps + capacity, steps)  # counted reads only roll over
    return np.concatenate([[0.0], np.cumsum(steps)]) * float(multiplier)


import_readings_from_csv = importer.import_readings_from_csv
import_readings_from_rows = importer.import_readings_from_rows
