"""Queries of the meter domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from meters.models import Meter, MeterInstallation, Register


def meter_by_serial(session: Session, serial: str) -> Meter | None:
    return session.scalars(select(Meter).where(Meter.serial == serial)).one_or_none()


def registers_of(session: Session, meter_id: int) -> list[Register]:
    return list(
        session.scalars(select(Register).where(Register.meter_id == meter_id).order_by(Register.id))
    )


def active_installation_of_meter(session: Session, meter_id: int) -> MeterInstallation | None:
    return session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.meter_id == meter_id, MeterInstallation.removed_at.is_(None)
        )
    ).one_or_none()


def active_installation_at_usage_point(
    session: Session, usage_point_id: int, register_set: str = "main"
) -> MeterInstallation | None:
    return session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.usage_point_id == usage_point_id,
            MeterInstallation.register_set == register_set,
            MeterInstallation.removed_at.is_(None),
        )
    ).one_or_none()


def installations_of_usage_point(session: Session, usage_point_id: int) -> list[MeterInstallation]:
    return list(
        session.scalars(
            select(MeterInstallation)
            .where(MeterInstallation.usage_point_id == usage_point_id)
            .order_by(MeterInstallation.installed_at)
        )
    )


def meters_for_usage_point(
    session: Session, usage_point_id: int, *, at: datetime | None = None
) -> list[Meter]:
    """Meters installed at the usage point: at ``at`` when given, else ever (oldest first)."""
    query = (
        select(Meter)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .where(MeterInstallation.usage_point_id == usage_point_id)
    )
    if at is not None:
        query = query.where(
            MeterInstallation.installed_at <= at,
            or_(MeterInstallation.removed_at.is_(None), MeterInstallation.removed_at > at),
        )
    return list(session.scalars(query.order_by(MeterInstallation.installed_at)).unique())


def list_meters(
    session: Session,
    *,
    status: str | None = None,
    serial_prefix: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[Meter]:
    query = select(Meter)
    if status:
        query = query.where(Meter.status == status)
    if serial_prefix:
        query = query.where(Meter.serial.startswith(serial_prefix, autoescape=True))
    return list(session.scalars(query.order_by(Meter.serial).offset(offset).limit(limit)))
