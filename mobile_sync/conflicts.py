"""The office's side of sync: the conflict queue, its resolution, incomplete records.

A conflict is resolved once: ``apply`` runs the record as the device sent it through its
kind's handler with the version check off (the office accepts the field's word over its
own change); ``discard`` keeps the office's master data. Either way the record stays in the
operation log, and the resolution (who, when, why) is on the conflict, audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.auth.models import User
from core.auth.service import actor_for
from core.context import Actor
from core.db import state_reason
from core.errors import EntityConflictError
from mobile_sync import repository
from mobile_sync.enums import ConflictAction, ConflictStatus, RecordKind
from mobile_sync.errors import ConflictNotFoundError, ConflictResolvedError
from mobile_sync.kinds import Applied, Item, PushContext, handler_for
from mobile_sync.models import SyncConflict, SyncDevice, SyncOperation
from mobile_sync.push import record_of
from mobile_sync.schemas import ConflictRead, OperationRead


class ConflictApplyFailedError(EntityConflictError):
    """Applying the queued record failed (the data changed again): it stays open."""

    code = "conflict_apply_failed"


def operation_read(op: SyncOperation, missing: set[str]) -> OperationRead:
    return OperationRead(
        id=op.id,
        uuid=str(op.uuid),
        device_id=op.device_id,
        user_id=op.user_id,
        kind=op.kind,
        status=op.status,
        code=op.code,
        detail=op.detail,
        server_id=op.server_id,
        flags=list(op.flags),
        photos=list(op.photos),
        photos_missing=[h for h in op.photos if h in missing],
        captured_at=op.captured_at,
        received_at=op.received_at,
        data=op.data,
    )


def conflict_read(conflict: SyncConflict, op: SyncOperation, missing: set[str]) -> ConflictRead:
    return ConflictRead(
        id=conflict.id,
        status=conflict.status,
        code=conflict.code,
        detail=conflict.detail,
        kind=conflict.kind,
        entity_kind=conflict.entity_kind,
        entity_id=conflict.entity_id,
        base_version=conflict.base_version,
        current_version=conflict.current_version,
        resolution_note=conflict.resolution_note,
        resolved_at=conflict.resolved_at,
        server_id=conflict.server_id,
        operation=operation_read(op, missing),
    )


def list_conflicts(
    session: Session, *, actor: Actor, status: str | None, offset: int, limit: int
) -> tuple[list[ConflictRead], int]:
    rows, total = repository.conflicts(session, actor, status=status, offset=offset, limit=limit)
    missing = repository.missing_photos(session, (h for _, op in rows for h in op.photos))
    return [conflict_read(c, op, missing) for c, op in rows], total


def list_incomplete(
    session: Session, *, actor: Actor, offset: int, limit: int
) -> tuple[list[OperationRead], int]:
    ops, total = repository.incomplete_operations(session, actor, offset=offset, limit=limit)
    missing = repository.missing_photos(session, (h for op in ops for h in op.photos))
    return [operation_read(op, missing) for op in ops], total


def resolve(
    session: Session, *, actor: Actor, conflict_id: int, action: ConflictAction, note: str
) -> ConflictRead:
    found = repository.conflict_for_update(session, actor, conflict_id)
    if found is None:
        raise ConflictNotFoundError(f"no conflict {conflict_id}")
    conflict, op = found
    if conflict.status != ConflictStatus.OPEN:
        raise ConflictResolvedError(f"conflict {conflict_id} is already {conflict.status}")
    state_reason(session, f"sync conflict {action.value}: {note}")
    if action == ConflictAction.APPLY:
        conflict.server_id = _apply(session, actor, op)
    conflict.status = (
        ConflictStatus.APPLIED if action == ConflictAction.APPLY else ConflictStatus.DISCARDED
    )
    conflict.resolved_by = actor.user_id
    conflict.resolved_at = datetime.now(UTC)
    conflict.resolution_note = note
    session.flush()
    missing = repository.missing_photos(session, op.photos)
    return conflict_read(conflict, op, missing)


def _apply(session: Session, actor: Actor, op: SyncOperation) -> int | None:
    handler = handler_for(RecordKind(op.kind))
    device = session.get(SyncDevice, op.device_id)
    assert device is not None
    if handler is None:
        raise ConflictApplyFailedError(f"this server cannot apply {op.kind} records")
    # The record is applied as its technician's (the reader of a read), now that the
    # office, who sees the conflict, accepted it.
    technician = session.get(User, op.user_id)
    assert technician is not None
    ctx = PushContext(
        session, actor_for(technician), device, datetime.now(UTC), op.clock_offset_s, force=True
    )
    item = Item(record_of(op), op.captured_at, list(op.flags))
    with session.begin_nested():
        [outcome] = handler(ctx, [item])
        if not isinstance(outcome, Applied):
            raise ConflictApplyFailedError(f"{outcome.code}: {outcome.detail}")
    return outcome.server_id
