"""Meter assets and their installations: create, install, remove, replace, restock, scrap.

Every move goes through the lifecycle state machine (409 when it is not allowed); the
"one meter at a time" rules are checked here for a clear message and enforced by the
database's exclusion constraints for everything else (back-dated overlaps, races).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from customers.models import UsagePoint
from meters import repository
from meters.errors import (
    InstallationNotFoundError,
    MeterIndexInvalidError,
    MeterInstallationConflictError,
    MeterNotFoundError,
    MeterSerialTakenError,
    UsagePointNotFoundError,
)
from meters.lifecycle import next_status
from meters.models import Meter, MeterInstallation, Register
from meters.readings.rules import dial_capacity
from meters.schemas import MeterCreate, MeterUpdate

IndexInput = Decimal | int | str | dict[str, Any]


def get_meter(session: Session, meter_id: int) -> Meter:
    meter = session.get(Meter, meter_id)
    if meter is None:
        raise MeterNotFoundError(f"no meter {meter_id}")
    return meter


def create_meter(session: Session, *, data: MeterCreate, actor: Actor | None = None) -> Meter:
    if repository.meter_by_serial(session, data.serial):
        raise MeterSerialTakenError(f"a meter with serial {data.serial} already exists")
    meter = Meter(**data.model_dump(exclude={"registers"}), status="in_stock")
    session.add(meter)
    session.flush()
    for code in dict.fromkeys(data.registers):
        session.add(Register(meter_id=meter.id, code=code.value))
    session.flush()
    return meter


def update_meter(session: Session, *, meter_id: int, data: MeterUpdate) -> Meter:
    meter = get_meter(session, meter_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(meter, key, value)
    session.flush()
    return meter


def _indexes(session: Session, meter: Meter, given: IndexInput, field: str) -> dict[str, str]:
    """One index per register code, each within what the dials can show."""
    codes = [r.code for r in repository.registers_of(session, meter.id)]
    if isinstance(given, dict):
        values = {str(getattr(k, "value", k)): Decimal(str(v)) for k, v in given.items()}
    elif len(codes) == 1:
        values = {codes[0]: Decimal(str(given))}
    else:
        raise MeterIndexInvalidError(
            f"meter {meter.serial} has registers {', '.join(codes)}: give one index per register",
            errors=[FieldError(field, "one index per register code is required")],
        )
    if sorted(values) != sorted(codes):
        raise MeterIndexInvalidError(
            f"indexes must cover exactly the registers {', '.join(codes)}",
            errors=[FieldError(field, f"expected keys: {', '.join(codes)}")],
        )
    capacity = dial_capacity(meter.dial_digits)
    for code, value in values.items():
        if not 0 <= value < capacity:
            raise MeterIndexInvalidError(
                f"index {value} does not fit on {meter.dial_digits} dials",
                errors=[FieldError(f"{field}/{code}", f"must be between 0 and {capacity - 1}")],
            )
    return {code: str(value) for code, value in values.items()}


def _check_free(
    session: Session, *, meter: Meter, usage_point_id: int, register_set: str, at: datetime
) -> None:
    active = repository.active_installation_of_meter(session, meter.id)
    if active is not None:
        raise MeterInstallationConflictError(
            f"meter {meter.serial} is already installed at usage point {active.usage_point_id}",
            extra={"installation_id": active.id},
        )
    occupying = repository.active_installation_at_usage_point(session, usage_point_id, register_set)
    if occupying is not None:
        raise MeterInstallationConflictError(
            f"usage point {usage_point_id} already has an active {register_set} meter; "
            "replace it instead",
            extra={"installation_id": occupying.id},
        )


def _flush_installation(session: Session) -> None:
    """Flush, turning the exclusion constraints' refusals into 409 problems."""
    savepoint = session.begin_nested()
    try:
        session.flush()
    except IntegrityError as exc:
        savepoint.rollback()
        raise MeterInstallationConflictError(
            "this installation overlaps another one of the same meter or usage point"
        ) from exc
    savepoint.commit()


def install_meter(
    session: Session,
    *,
    meter_id: int,
    usage_point_id: int,
    installed_at: datetime,
    start_index: IndexInput,
    register_set: str = "main",
    actor: Actor | None = None,
    replaces_installation_id: int | None = None,
) -> MeterInstallation:
    meter = session.get(Meter, meter_id, with_for_update=True)
    if meter is None:
        raise MeterNotFoundError(f"no meter {meter_id}")
    if session.get(UsagePoint, usage_point_id) is None:
        raise UsagePointNotFoundError(f"no usage point {usage_point_id}")
    status = next_status(meter.status, "install", serial=meter.serial)
    indexes = _indexes(session, meter, start_index, "start_index")
    _check_free(
        session,
        meter=meter,
        usage_point_id=usage_point_id,
        register_set=register_set,
        at=installed_at,
    )
    installation = MeterInstallation(
        meter_id=meter.id,
        usage_point_id=usage_point_id,
        register_set=register_set,
        installed_at=installed_at,
        start_indexes=indexes,
        replaces_installation_id=replaces_installation_id,
        installed_by=actor.user_id if actor else None,
    )
    session.add(installation)
    meter.status = status
    meter.stock_location = None
    _flush_installation(session)
    return installation


def remove_meter(
    session: Session,
    *,
    meter_id: int,
    removed_at: datetime,
    end_index: IndexInput,
    reason: str | None = None,
    to_stock_location: str | None = None,
) -> MeterInstallation:
    meter = session.get(Meter, meter_id, with_for_update=True)
    if meter is None:
        raise MeterNotFoundError(f"no meter {meter_id}")
    status = next_status(meter.status, "remove", serial=meter.serial)
    installation = repository.active_installation_of_meter(session, meter.id)
    if installation is None:
        raise InstallationNotFoundError(f"meter {meter.serial} has no active installation")
    if removed_at <= installation.installed_at:
        raise MeterIndexInvalidError(
            "removal must come after installation",
            errors=[
                FieldError("removed_at", f"must be after {installation.installed_at.isoformat()}")
            ],
        )
    installation.end_indexes = _indexes(session, meter, end_index, "end_index")
    installation.removed_at = removed_at
    installation.removal_reason = reason
    meter.status = status
    meter.stock_location = to_stock_location
    _flush_installation(session)
    return installation


def replace_meter(
    session: Session,
    *,
    usage_point_id: int,
    new_meter_id: int,
    replaced_at: datetime,
    old_end_index: IndexInput,
    new_start_index: IndexInput,
    register_set: str = "main",
    reason: str | None = None,
    actor: Actor | None = None,
) -> MeterInstallation:
    """Remove the usage point's active meter (end index) and install another (start index)
    at the same instant; the new installation points at the one it replaces."""
    old = repository.active_installation_at_usage_point(session, usage_point_id, register_set)
    if old is None:
        raise InstallationNotFoundError(
            f"usage point {usage_point_id} has no active {register_set} meter to replace"
        )
    if old.meter_id == new_meter_id:
        raise MeterInstallationConflictError("a meter cannot replace itself")
    remove_meter(
        session,
        meter_id=old.meter_id,
        removed_at=replaced_at,
        end_index=old_end_index,
        reason=reason or "replaced",
    )
    return install_meter(
        session,
        meter_id=new_meter_id,
        usage_point_id=usage_point_id,
        installed_at=replaced_at,
        start_index=new_start_index,
        register_set=register_set,
        actor=actor,
        replaces_installation_id=old.id,
    )


def restock_meter(session: Session, *, meter_id: int, stock_location: str | None) -> Meter:
    meter = get_meter(session, meter_id)
    meter.status = next_status(meter.status, "restock", serial=meter.serial)
    meter.stock_location = stock_location
    session.flush()
    return meter


def scrap_meter(session: Session, *, meter_id: int) -> Meter:
    meter = get_meter(session, meter_id)
    meter.status = next_status(meter.status, "scrap", serial=meter.serial)
    meter.stock_location = None
    session.flush()
    return meter


def installation_history(session: Session, *, meter_id: int) -> list[MeterInstallation]:
    get_meter(session, meter_id)
    return list(
        session.scalars(
            select(MeterInstallation)
            .where(MeterInstallation.meter_id == meter_id)
            .order_by(MeterInstallation.installed_at)
        )
    )
