"""Queries of the sync domain (no SQL in routes or services)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, any_, func, select
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import visible
from customers.models import ServiceLocation, UsagePoint
from meters.models import Meter, MeterInstallation, Register
from mobile_sync.models import SyncAttachment, SyncConflict, SyncOperation


@dataclass(frozen=True)
class RegisterPlace:
    """A register the actor sees, its meter's serial and where it is fitted now."""

    register_id: int
    register_code: str
    meter_serial: str
    usage_point_id: int | None
    lon: float | None
    lat: float | None


def register_places(
    session: Session, actor: Actor, register_ids: Iterable[int]
) -> dict[int, RegisterPlace]:
    """The registers of ``register_ids`` that ``actor`` sees (one query)."""
    ids = sorted(set(register_ids))
    if not ids:
        return {}
    fitted = and_(MeterInstallation.meter_id == Meter.id, MeterInstallation.removed_at.is_(None))
    rows = session.execute(
        select(
            Register.id,
            Register.code,
            Meter.serial,
            MeterInstallation.usage_point_id,
            func.ST_X(ServiceLocation.geom),
            func.ST_Y(ServiceLocation.geom),
        )
        .join(Meter, Meter.id == Register.meter_id)
        .outerjoin(MeterInstallation, fitted)
        .outerjoin(UsagePoint, UsagePoint.id == MeterInstallation.usage_point_id)
        .outerjoin(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(Register.id.in_(ids), visible(actor, Register))
    ).all()
    return {
        r[0]: RegisterPlace(r[0], r[1], r[2], r[3], r[4], r[5])
        for r in rows  # a meter fitted at two register sets is still one place
    }


def operations_by_uuid(session: Session, uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    wanted = list(set(uuids))
    if not wanted:
        return {}
    rows = session.scalars(select(SyncOperation).where(SyncOperation.uuid.in_(wanted)))
    return {op.uuid: op for op in rows}


def missing_photos(session: Session, hashes: Iterable[str]) -> set[str]:
    wanted = set(hashes)
    if not wanted:
        return set()
    have = set(
        session.scalars(select(SyncAttachment.sha256).where(SyncAttachment.sha256.in_(wanted)))
    )
    return wanted - have


def _photo_missing() -> Any:
    """SQL: the operation lists a photo that is not stored whole (fewer stored photos
    among its hashes than it lists; a device lists each photo once)."""
    stored = (
        select(func.count())
        .where(SyncAttachment.sha256 == any_(SyncOperation.photos))
        .scalar_subquery()
    )
    return func.cardinality(SyncOperation.photos) > stored


def incomplete_operations(
    session: Session, actor: Actor, *, offset: int, limit: int
) -> tuple[list[SyncOperation], int]:
    """Records still waiting for a photo, oldest first."""
    query = select(SyncOperation).where(
        SyncOperation.status != "rejected", _photo_missing(), visible(actor, SyncOperation)
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(SyncOperation.id).offset(offset).limit(limit))
    return list(rows), int(total)


def conflicts(
    session: Session, actor: Actor, *, status: str | None, offset: int, limit: int
) -> tuple[list[tuple[SyncConflict, SyncOperation]], int]:
    query = (
        select(SyncConflict, SyncOperation)
        .join(SyncOperation, SyncOperation.id == SyncConflict.operation_id)
        .where(visible(actor, SyncConflict))
    )
    if status:
        query = query.where(SyncConflict.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(SyncConflict.id).offset(offset).limit(limit)).all()
    return [(c, o) for c, o in rows], int(total)


def conflict_for_update(
    session: Session, actor: Actor, conflict_id: int
) -> tuple[SyncConflict, SyncOperation] | None:
    row = session.execute(
        select(SyncConflict, SyncOperation)
        .join(SyncOperation, SyncOperation.id == SyncConflict.operation_id)
        .where(SyncConflict.id == conflict_id, visible(actor, SyncConflict))
        .with_for_update(of=SyncConflict)
    ).one_or_none()
    return (row[0], row[1]) if row else None
