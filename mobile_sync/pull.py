"""Pull: the technician's assignments, as changes since the device's cursor.

What a technician works on belongs to field (round items in walking order, work orders,
seals issued to them); field provides it through a pull source (``set_source``) that
answers the changes after a position, in the order they happened, and the version of the
technician's route. Without a source (field not wired) a pull answers no changes.

The cursor is opaque to the device: ``base64url("v1.<device id>.<position>")``. A cursor of
another device, or one this server did not issue, is refused (422 ``cursor_invalid``): the
device then pulls from scratch (no cursor). The device's last cursor and route version are
kept on the device row (its sync cursor) for the office to see.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from core.context import Actor
from mobile_sync.errors import CursorInvalidError
from mobile_sync.models import SyncDevice
from mobile_sync.schemas import Change, PullResult


@dataclass(frozen=True)
class SourcePage:
    changes: list[Change]
    position: int  # pass back to get what follows
    has_more: bool
    route_version: int


class PullSource(Protocol):
    def __call__(
        self, session: Session, *, actor: Actor, user_id: int, after: int, limit: int
    ) -> SourcePage: ...


_source: list[PullSource] = []


def set_source(source: PullSource) -> None:
    _source[:] = [source]


def encode_cursor(device_id: int, position: int) -> str:
    raw = f"v1.{device_id}.{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, device_id: int) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, device, position = base64.urlsafe_b64decode(padded).decode().split(".")
        if version != "v1" or int(device) != device_id or int(position) < 0:
            raise ValueError(cursor)
        return int(position)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise CursorInvalidError(
            "this cursor was not issued to this device; pull without a cursor"
        ) from exc


def pull(
    session: Session, *, actor: Actor, device: SyncDevice, cursor: str | None, limit: int
) -> PullResult:
    """The changes after ``cursor`` (everything when None), at most ``limit``."""
    after = decode_cursor(cursor, device.id) if cursor else 0
    if _source:
        page = _source[0](session, actor=actor, user_id=device.user_id, after=after, limit=limit)
    else:
        page = SourcePage([], after, False, 0)
    result = PullResult(
        cursor=encode_cursor(device.id, page.position),
        has_more=page.has_more,
        route_version=page.route_version,
        changes=page.changes,
    )
    device.pull_cursor = cursor
    device.pulled_at = datetime.now(UTC)
    device.route_version = page.route_version
    session.flush()
    return result
