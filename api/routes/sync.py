"""The handheld sync protocol (``mobile_sync/PROTOCOL.md``): enrollment, pull, push, photo
uploads; and the office's side: devices, revocation, the conflict queue, incomplete records.

Every device call needs the technician's bearer token (scope ``sync``) and the header
``X-Kilowatch-Device: <device_id>.<secret>``. Answers are sent after the commit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentActor, DbSession
from api.params import Id, Limit, Offset
from api.schemas import PROBLEM_RESPONSES, problem_response
from core.context import Actor
from core.pages import Page
from mobile_sync import attachments, conflicts, devices, pull, push
from mobile_sync.models import SyncDevice
from mobile_sync.schemas import (
    PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX,
    AttachmentState,
    ConflictRead,
    ConflictResolve,
    DeviceEnroll,
    DeviceEnrolled,
    DeviceRead,
    DeviceRevoke,
    OperationRead,
    PullResult,
    PushBatch,
    PushResult,
)

router = APIRouter(prefix="/api/v1/sync", tags=["sync"], responses=PROBLEM_RESPONSES)

_NOT_FOUND = {404: problem_response("No such record (or outside your territory)")}
_CONFLICT = {409: problem_response("Conflicts with the current state")}
DeviceHeader = Annotated[
    str | None,
    Header(
        alias="X-Kilowatch-Device",
        description="<device_id>.<device_secret>, as enrollment answered",
        max_length=200,
    ),
]
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256 (hex)")]


def sync_device(
    session: DbSession,
    actor: CurrentActor("sync"),  # type: ignore[valid-type]
    x_kilowatch_device: DeviceHeader = None,
) -> tuple[Actor, SyncDevice]:
    """The caller and the device it proves (401 ``device_unknown``, 403 ``device_revoked``
    or ``device_not_yours`` otherwise)."""
    return actor, devices.authenticate(session, actor=actor, header=x_kilowatch_device)


SyncCaller = Annotated[tuple[Actor, SyncDevice], Depends(sync_device)]


def _device_read(device: SyncDevice, username: str) -> DeviceRead:
    return DeviceRead.model_validate(device).model_copy(update={"username": username})


@router.post("/devices", response_model=DeviceEnrolled, status_code=201)
def enroll_device(
    body: DeviceEnroll, session: DbSession, actor: CurrentActor("sync")
) -> DeviceEnrolled:  # type: ignore[valid-type]
    """Enroll the caller's device (again: a new secret, the old one stops working). The
    secret is shown once."""
    device, secret = devices.enroll(
        session, actor=actor, device_uuid=body.device_uuid, label=body.label
    )
    return DeviceEnrolled(device_id=device.id, device_secret=secret)


@router.get("/devices", response_model=Page[DeviceRead])
def list_devices(
    session: DbSession,
    actor: CurrentActor("field:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
    status: Annotated[str | None, Query(pattern="^(active|revoked)$")] = None,
) -> Page[DeviceRead]:
    """The enrolled devices of the caller's territory's technicians, newest first."""
    rows, total = devices.list_devices(
        session, actor=actor, offset=offset, limit=limit, status=status
    )
    return Page(
        items=[_device_read(d, u) for d, u in rows], total=total, offset=offset, limit=limit
    )


@router.post("/devices/{device_id}/revoke", response_model=DeviceRead, responses=_NOT_FOUND)
def revoke_device(
    device_id: Id,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
    body: DeviceRevoke | None = None,
) -> DeviceRead:
    """Revoke a device (a lost phone): its every later call is refused. Audited."""
    device = devices.revoke(
        session, actor=actor, device_id=device_id, reason=body.reason if body else ""
    )
    return _device_read(device, "")


@router.get("/pull", response_model=PullResult, responses={422: PROBLEM_RESPONSES[422]})
def pull_changes(
    session: DbSession,
    caller: SyncCaller,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=PULL_LIMIT_MAX)] = PULL_LIMIT_DEFAULT,
) -> PullResult:
    """The technician's assignments changed since ``cursor`` (all of them without one)."""
    actor, device = caller
    return pull.pull(session, actor=actor, device=device, cursor=cursor, limit=limit)


@router.post("/push", response_model=PushResult)
def push_records(body: PushBatch, session: DbSession, caller: SyncCaller) -> PushResult:
    """Apply a batch of records, each answered with a receipt (after the commit)."""
    actor, device = caller
    return PushResult(receipts=push.push(session, actor=actor, device=device, batch=body))


_PHOTO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png")
        },
    }
}


@router.put(
    "/attachments/{sha256}",
    response_model=AttachmentState,
    responses={
        202: {"description": "Chunk taken; more bytes expected", "model": AttachmentState},
        **_CONFLICT,
        415: problem_response("Not a JPEG or PNG photo"),
    },
    openapi_extra=_PHOTO_BODY,
)
async def upload_attachment(
    sha256: Sha256Path,
    request: Request,
    response: Response,
    session: DbSession,
    caller: SyncCaller,
    content_range: Annotated[str | None, Header(alias="Content-Range", max_length=100)] = None,
) -> AttachmentState:
    """Upload a photo (whole, or a chunk with ``Content-Range``); checked against its hash
    once complete. Idempotent: a photo already stored answers 200 at once."""
    actor, device = caller
    body = await request.body()
    state = await run_in_threadpool(
        attachments.receive,
        session,
        actor=actor,
        device=device,
        sha256=sha256,
        body=body,
        content_type=request.headers.get("content-type"),
        content_range=content_range,
    )
    response.headers["Upload-Offset"] = str(state.received)
    if not state.complete:
        response.status_code = 202
    return AttachmentState(
        sha256=sha256, received=state.received, total=state.total, complete=state.complete
    )


@router.head("/attachments/{sha256}", responses=_NOT_FOUND)
def attachment_offset(sha256: Sha256Path, session: DbSession, caller: SyncCaller) -> Response:
    """``Upload-Offset``: the bytes of the photo the server holds (404: none)."""
    state = attachments.state(session, sha256=sha256)
    return Response(
        status_code=200,
        headers={"Upload-Offset": str(state.received), "Upload-Complete": str(state.complete)},
    )


@router.get("/conflicts", response_model=Page[ConflictRead])
def list_conflicts(
    session: DbSession,
    actor: CurrentActor("field:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
    status: Annotated[str | None, Query(pattern="^(open|applied|discarded)$")] = "open",
) -> Page[ConflictRead]:
    """The conflict queue (open ones by default), oldest first."""
    items, total = conflicts.list_conflicts(
        session, actor=actor, status=status, offset=offset, limit=limit
    )
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.post(
    "/conflicts/{conflict_id}/resolve",
    response_model=ConflictRead,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def resolve_conflict(
    conflict_id: Id,
    body: ConflictResolve,
    session: DbSession,
    actor: CurrentActor("field:write"),  # type: ignore[valid-type]
) -> ConflictRead:
    """Apply the queued record anyway, or discard it (the office's data stands). Audited."""
    return conflicts.resolve(
        session, actor=actor, conflict_id=conflict_id, action=body.action, note=body.note
    )


@router.get("/incomplete", response_model=Page[OperationRead])
def incomplete_records(
    session: DbSession,
    actor: CurrentActor("field:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[OperationRead]:
    """Records still waiting for one of their photos, oldest first."""
    items, total = conflicts.list_incomplete(session, actor=actor, offset=offset, limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)
