"""Devices: enrolled by a technician (a secret shown once), proved on every sync call by
``X-Kilowatch-Device: <id>.<secret>``, revoked by the office when a phone is lost."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.models import User
from core.context import Actor
from core.db import state_reason
from core.errors import EntityConflictError
from core.flush import by_constraint, flush_guarded
from core.pages import BIGINT_MAX
from core.territory import visible
from mobile_sync.enums import DeviceStatus
from mobile_sync.errors import (
    DeviceNotFoundError,
    DeviceNotYoursError,
    DeviceRevokedError,
    DeviceUnknownError,
)
from mobile_sync.models import SyncDevice

DEVICE_HEADER = "X-Kilowatch-Device"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def enroll(
    session: Session, *, actor: Actor, device_uuid: str, label: str
) -> tuple[SyncDevice, str]:
    """Enroll (or re-enroll: a new secret, the old one stops working) the caller's device;
    returns it and its secret, which is never shown again. A revoked device stays revoked."""
    assert actor.user_id is not None
    secret = secrets.token_urlsafe(32)
    device = session.scalar(
        select(SyncDevice)
        .where(SyncDevice.user_id == actor.user_id, SyncDevice.device_uuid == device_uuid)
        .with_for_update()
    )
    if device is not None and device.status == DeviceStatus.REVOKED:
        raise DeviceRevokedError("this device was revoked by the office; enroll another one")
    if device is None:
        device = SyncDevice(
            user_id=actor.user_id,
            agency_id=actor.agency_id,
            device_uuid=device_uuid,
            label=label,
            secret_hash=_hash(secret),
        )
        # Two enrollments of one new device at once: the second is a re-enrollment.
        flush_guarded(
            session,
            by_constraint(
                {
                    "uq_sync_device_user_id_device_uuid": lambda: EntityConflictError(
                        "this device is being enrolled at this moment; retry"
                    )
                }
            ),
            apply=lambda: session.add(device),
        )
        return device, secret
    device.secret_hash = _hash(secret)
    device.secret_rotated_at = datetime.now(UTC)
    device.label = label or device.label
    session.flush()
    return device, secret


def authenticate(session: Session, *, actor: Actor, header: str | None) -> SyncDevice:
    """The device the header names, checked: its secret, not revoked, the caller's."""
    device_id, _, secret = (header or "").strip().partition(".")
    if not device_id.isdigit() or not secret or not 0 < int(device_id) <= BIGINT_MAX:
        raise DeviceUnknownError(f"the {DEVICE_HEADER} header must be <device_id>.<secret>")
    device = session.get(SyncDevice, int(device_id))
    if device is None or not hmac.compare_digest(device.secret_hash, _hash(secret)):
        raise DeviceUnknownError("no device with this id and secret")
    if device.status == DeviceStatus.REVOKED:
        raise DeviceRevokedError("this device was revoked by the office")
    if device.user_id != actor.user_id:
        raise DeviceNotYoursError("this device is enrolled by another user")
    return device


def list_devices(
    session: Session, *, actor: Actor, offset: int, limit: int, status: str | None = None
) -> tuple[list[tuple[SyncDevice, str]], int]:
    """Devices the caller may see (its territory's technicians'), newest first."""
    query = (
        select(SyncDevice, User.username)
        .join(User, User.id == SyncDevice.user_id)
        .where(visible(actor, SyncDevice))
    )
    if status:
        query = query.where(SyncDevice.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(SyncDevice.id.desc()).offset(offset).limit(limit)).all()
    return [(d, u) for d, u in rows], int(total)


def revoke(
    session: Session, *, actor: Actor, device_id: int, reason: str
) -> tuple[SyncDevice, str]:
    """Revoke a device (idempotent): every later sync call of it is refused (403)."""
    device = session.scalar(
        select(SyncDevice)
        .where(SyncDevice.id == device_id, visible(actor, SyncDevice))
        .with_for_update()
    )
    if device is None:
        raise DeviceNotFoundError(f"no device {device_id}")
    if device.status != DeviceStatus.REVOKED:
        state_reason(session, reason or "device revoked")
        device.status = DeviceStatus.REVOKED
        device.revoked_at = datetime.now(UTC)
        device.revoked_by = actor.user_id
        device.revoke_reason = reason or None
        session.flush()
    user = session.get(User, device.user_id)
    return device, user.username if user else ""
