"""Push: a batch of records from one device, each answered with a receipt.

Guarantees (``mobile_sync/PROTOCOL.md``):

- every record is written to the operation log under its client UUID together with what
  it changed, in one savepoint, so a record is either applied and logged or neither;
- a run of records of one kind is applied in one savepoint (fast); if anything in it
  fails, each record of the run is applied again in a savepoint of its own, so one bad
  record never takes the others with it (it is answered ``rejected`` with a stable code);
- the receipts are returned to the route, which commits before answering: a receipt the
  device sees is a committed fact, and a push whose answer is lost is simply sent again;
- the same UUID again (a retried batch, a duplicated one, a record sent twice in one
  batch) is answered ``duplicate`` with the original receipt and changes nothing;
- one device's pushes take turns (a transaction lock per device), so a batch sent twice
  at once is applied once and answered ``duplicate`` the second time;
- a device clock more than two minutes off the server's (``device_time``) is corrected
  on every ``captured_at`` of the batch, and flagged.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import DomainError
from core.locks import LockSpace, int32_key, xact_lock
from mobile_sync import field_kinds as _field_kinds  # noqa: F401 - registers the kinds
from mobile_sync import repository
from mobile_sync.enums import CLOCK_TOLERANCE_S, Flag, ReceiptStatus
from mobile_sync.errors import RecordConflictError, RecordRejectedError
from mobile_sync.kinds import (
    Applied,
    Conflict,
    Item,
    KindHandler,
    Outcome,
    PushContext,
    Rejected,
    handler_for,
)
from mobile_sync.models import SyncConflict, SyncDevice, SyncOperation
from mobile_sync.schemas import PushBatch, PushRecord, Receipt


def push(session: Session, *, actor: Actor, device: SyncDevice, batch: PushBatch) -> list[Receipt]:
    """Apply ``batch`` and answer one receipt per record, in order. Flushes, never commits."""
    xact_lock(session, LockSpace.SYNC_DEVICE_PUSH, int32_key(device.id))
    received_at = datetime.now(UTC)
    offset = (received_at - batch.device_time).total_seconds()
    correct = abs(offset) > CLOCK_TOLERANCE_S
    ctx = PushContext(session, actor, device, received_at, offset if correct else 0.0)
    known = repository.operations_by_uuid(session, (r.uuid for r in batch.records))
    ops: dict[int, SyncOperation] = {}
    answers: dict[int, Receipt] = {}
    first_of: dict[uuid.UUID, int] = {}
    pending: list[tuple[int, Item]] = []
    for i, record in enumerate(batch.records):
        if record.uuid in known:
            continue  # answered below, with the photos as of now
        elif record.uuid in first_of:
            continue  # answered from the first one once it is applied
        else:
            first_of[record.uuid] = i
            captured = record.captured_at + timedelta(seconds=ctx.clock_offset_s)
            flags = [Flag.DEVICE_CLOCK_CORRECTED.value] if correct else []
            pending.append((i, Item(record, captured.astimezone(UTC), flags)))
    for _kind, run in groupby(pending, key=lambda p: p[1].record.kind):
        ops.update(_apply_run(ctx, list(run)))
    every = [*ops.values(), *known.values()]
    missing = repository.missing_photos(session, (h for op in every for h in op.photos))
    for i, op in ops.items():
        answers[i] = receipt_of(op, missing)
    for i, record in enumerate(batch.records):
        if record.uuid in known:
            answers[i] = _again(known[record.uuid], actor, missing)
    for i, record in enumerate(batch.records):
        if i not in answers:  # the same UUID twice in one batch
            first = answers[first_of[record.uuid]]
            answers[i] = _duplicate(first)
    device.pushed_at = received_at
    session.flush()
    return [answers[i] for i in range(len(batch.records))]


def _apply_run(ctx: PushContext, run: list[tuple[int, Item]]) -> dict[int, SyncOperation]:
    """Apply a run of one kind in one savepoint; on failure, record by record."""
    handler = handler_for(run[0][1].record.kind)
    if handler is None:
        rejected = Rejected("kind_unsupported", "this server cannot apply this kind yet")
        return {i: _log(ctx, item, rejected) for i, item in run}
    try:
        with ctx.session.begin_nested():
            outcomes = handler(ctx, [item for _, item in run])
            return _log_all(ctx, [(i, item, o) for (i, item), o in zip(run, outcomes, strict=True)])
    except (DomainError, IntegrityError, ValueError):
        if len(run) == 1:
            return {run[0][0]: _apply_alone(ctx, run[0][1], handler)}
    return {i: _apply_alone(ctx, item, handler) for i, item in run}


def _apply_alone(ctx: PushContext, item: Item, handler: KindHandler) -> SyncOperation:
    outcome: Outcome
    try:
        with ctx.session.begin_nested():
            [outcome] = handler(ctx, [item])
            return _log(ctx, item, outcome)
    except RecordConflictError as exc:
        outcome = Conflict(
            exc.conflict_code, exc.detail, exc.entity_kind, exc.entity_id, exc.current_version
        )
    except RecordRejectedError as exc:
        outcome = Rejected(exc.reject_code, exc.detail)
    except DomainError as exc:
        code = exc.errors[0].code if exc.errors else exc.code
        detail = exc.errors[0].message if exc.errors else exc.detail
        outcome = Rejected(code, detail)
    except IntegrityError as exc:
        outcome = Rejected("conflicts_with_stored_data", type(exc.orig).__name__)
    except ValueError as exc:
        outcome = Rejected("invalid_data", str(exc)[:200])
    with ctx.session.begin_nested():
        return _log(ctx, item, outcome)


def _log(ctx: PushContext, item: Item, outcome: Outcome) -> SyncOperation:
    """The operation-log row of ``item`` (and its conflict-queue entry), flushed."""
    return _log_all(ctx, [(0, item, outcome)])[0]


def _log_all(ctx: PushContext, rows: list[tuple[int, Item, Outcome]]) -> dict[int, SyncOperation]:
    """The operation-log rows (and conflict-queue entries) of applied items: one INSERT."""
    ops = {i: _operation(ctx, item, outcome) for i, item, outcome in rows}
    points = [(r.gps.lon, r.gps.lat) if r.gps else None for r in (row[1].record for row in rows)]
    repository.insert_operations(ctx.session, list(ops.values()), points)
    conflicts = [
        _conflict(ctx, ops[i], item, outcome)
        for i, item, outcome in rows
        if isinstance(outcome, Conflict)
    ]
    if conflicts:
        ctx.session.add_all(conflicts)
        ctx.session.flush()
    return ops


def _operation(ctx: PushContext, item: Item, outcome: Outcome) -> SyncOperation:
    record = item.record
    op = SyncOperation(
        uuid=record.uuid,
        device_id=ctx.device.id,
        user_id=ctx.device.user_id,
        kind=record.kind.value,
        base_version=record.base_version,
        captured_at_device=record.captured_at,
        captured_at=item.captured_at,
        clock_offset_s=ctx.clock_offset_s,
        gps_accuracy_m=record.gps.accuracy_m if record.gps else None,
        scanned_serial=record.scanned_serial,
        photos=list(record.photos),
        data=record.data,
        received_at=ctx.received_at,
        flags=list(item.flags),
    )
    if isinstance(outcome, Applied):
        op.status, op.server_id, op.detail = "applied", outcome.server_id, outcome.detail
        op.flags = _unique([*outcome.flags, *item.flags])
    elif isinstance(outcome, Rejected):
        op.status, op.code, op.detail = "rejected", outcome.code, outcome.detail
    else:
        op.status, op.code, op.detail = "conflict", outcome.code, outcome.detail
    return op


def _conflict(ctx: PushContext, op: SyncOperation, item: Item, outcome: Conflict) -> SyncConflict:
    return SyncConflict(
        operation_id=op.id,
        device_id=ctx.device.id,
        kind=op.kind,
        code=outcome.code,
        detail=outcome.detail,
        entity_kind=outcome.entity_kind,
        entity_id=outcome.entity_id,
        base_version=item.record.base_version,
        current_version=outcome.current_version,
    )


def _unique(flags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(flags))


def receipt_of(op: SyncOperation, missing: set[str]) -> Receipt:
    """The receipt an operation was (and is) answered with; photos as of now."""
    return Receipt(
        uuid=str(op.uuid),
        status=ReceiptStatus(op.status),
        code=op.code,
        detail=op.detail,
        server_id=op.server_id,
        photos_missing=[h for h in op.photos if h in missing],
        flags=list(op.flags),
    )


def _duplicate(original: Receipt) -> Receipt:
    return Receipt(
        uuid=original.uuid,
        status=ReceiptStatus.DUPLICATE,
        server_id=original.server_id,
        photos_missing=original.photos_missing,
        flags=original.flags,
        original=original,
    )


def _again(op: SyncOperation, actor: Actor, missing: set[str]) -> Receipt:
    """A UUID already in the log: the original receipt, to its own user only."""
    if op.user_id != actor.user_id:
        return Receipt(
            uuid=str(op.uuid),
            status=ReceiptStatus.REJECTED,
            code="uuid_taken",
            detail="another user's record has this UUID; give the record a new one",
        )
    return _duplicate(receipt_of(op, missing))


def record_of(op: SyncOperation) -> PushRecord:
    """The record as the device sent it, from the log (to apply a conflict later)."""
    from geoalchemy2.shape import to_shape

    gps = None
    if op.gps is not None:
        point = to_shape(op.gps)
        gps = {"lon": point.x, "lat": point.y, "accuracy_m": op.gps_accuracy_m}
    return PushRecord.model_validate(
        {
            "uuid": op.uuid,
            "kind": op.kind,
            "base_version": op.base_version,
            "captured_at": op.captured_at_device,
            "gps": gps,
            "scanned_serial": op.scanned_serial,
            "photos": op.photos,
            "data": op.data,
        }
    )
