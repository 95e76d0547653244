"""Queries of the sync domain (no SQL in routes or services)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float, and_, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import visible
from customers.models import ServiceLocation, UsagePoint
from meters.models import Meter, MeterInstallation, Register
from mobile_sync.models import SyncAttachment, SyncConflict, SyncOperation


@dataclass(frozen=True)
class RegisterPlace:
    """A register the actor sees, its meter's serial and where it is fitted now, and how
    far a record's GPS point is from there."""

    register_id: int
    register_code: str
    meter_serial: str
    usage_point_id: int | None
    lon: float | None
    lat: float | None
    # Metres from the record's GPS point to the meter's premises, measured in the
    # deployment's projected CRS; None without a point or a premises point.
    distance_m: float | None = None


def register_places(
    session: Session,
    actor: Actor,
    wanted: Sequence[tuple[int, int, float | None, float | None]],
    projected_srid: int,
) -> dict[int, RegisterPlace]:
    """Per record key, of ``wanted`` ``(key, register id, gps lon, gps lat)``: the register
    if ``actor`` sees it, with the record's distance to its premises (one query, the
    distances computed set-based in the projected CRS)."""
    if not wanted:
        return {}
    w = (
        func.unnest(
            bindparam("keys", [k for k, _, _, _ in wanted], type_=ARRAY(BigInteger)),
            bindparam("regs", [r for _, r, _, _ in wanted], type_=ARRAY(BigInteger)),
            bindparam("lons", [x for _, _, x, _ in wanted], type_=ARRAY(Float)),
            bindparam("lats", [y for _, _, _, y in wanted], type_=ARRAY(Float)),
        )
        .table_valued("k", "register_id", "lon", "lat")
        .render_derived(with_types=False)
    )
    fitted = and_(MeterInstallation.meter_id == Meter.id, MeterInstallation.removed_at.is_(None))
    gps = func.ST_SetSRID(func.ST_MakePoint(w.c.lon, w.c.lat), 4326)
    distance = func.ST_Distance(
        func.ST_Transform(gps, projected_srid),
        func.ST_Transform(ServiceLocation.geom, projected_srid),
    )
    rows = session.execute(
        select(
            w.c.k,
            Register.id,
            Register.code,
            Meter.serial,
            MeterInstallation.usage_point_id,
            func.ST_X(ServiceLocation.geom),
            func.ST_Y(ServiceLocation.geom),
            distance,
        )
        .select_from(w)
        .join(Register, Register.id == w.c.register_id)
        .join(Meter, Meter.id == Register.meter_id)
        .outerjoin(MeterInstallation, fitted)
        .outerjoin(UsagePoint, UsagePoint.id == MeterInstallation.usage_point_id)
        .outerjoin(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(visible(actor, Register))
    ).all()
    return {
        r[0]: RegisterPlace(r[1], r[2], r[3], r[4], r[5], r[6], r[7])
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


_OPERATION_COLUMNS = (
    "uuid uuid, device_id bigint, user_id bigint, kind text, status text, code text, "
    "detail text, server_id bigint, flags text[], photos text[], base_version int, "
    "captured_at_device timestamptz, captured_at timestamptz, clock_offset_s float8, "
    "lon float8, lat float8, gps_accuracy_m float8, scanned_serial text, data jsonb, "
    "received_at timestamptz"
)
_INSERT_OPERATIONS = f"""
INSERT INTO sync_operation (uuid, device_id, user_id, kind, status, code, detail, server_id,
    flags, photos, base_version, captured_at_device, captured_at, clock_offset_s, gps,
    gps_accuracy_m, scanned_serial, data, received_at)
SELECT r.uuid, r.device_id, r.user_id, r.kind, r.status, r.code, r.detail, r.server_id,
    coalesce(r.flags, '{{}}'), coalesce(r.photos, '{{}}'), r.base_version,
    r.captured_at_device, r.captured_at, r.clock_offset_s,
    CASE WHEN r.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326) END,
    r.gps_accuracy_m, r.scanned_serial, r.data, r.received_at
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_OPERATION_COLUMNS})
RETURNING uuid, id
"""


def insert_operations(session: Session, ops: list[SyncOperation], lon_lat: list[Any]) -> None:
    """Write the operation-log rows ``ops`` (transient, not in the session) in one
    statement and give each its id; ``lon_lat`` is each one's GPS point (lon, lat) or None.
    UUIDs are unique within ``ops``."""
    if not ops:
        return
    rows = [
        {
            "uuid": str(op.uuid),
            "device_id": op.device_id,
            "user_id": op.user_id,
            "kind": op.kind,
            "status": op.status,
            "code": op.code,
            "detail": op.detail,
            "server_id": op.server_id,
            "flags": list(op.flags),
            "photos": list(op.photos),
            "base_version": op.base_version,
            "captured_at_device": op.captured_at_device.isoformat(),
            "captured_at": op.captured_at.isoformat(),
            "clock_offset_s": op.clock_offset_s,
            "lon": point[0] if point else None,
            "lat": point[1] if point else None,
            "gps_accuracy_m": op.gps_accuracy_m,
            "scanned_serial": op.scanned_serial,
            "data": op.data,
            "received_at": op.received_at.isoformat(),
        }
        for op, point in zip(ops, lon_lat, strict=True)
    ]
    ids = dict(
        session.execute(text(_INSERT_OPERATIONS), {"rows": json.dumps(rows, default=str)}).all()
    )
    for op in ops:
        op.id = ids[op.uuid]
