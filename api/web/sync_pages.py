"""The office's side of the handheld sync: the conflict queue (records the office's own
changes overtook, kept and waiting for a decision) and the incomplete records (their
photos not all arrived). Every list is the caller's territory's (``mobile_sync.conflicts``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.params import Id
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from mobile_sync import conflicts
from mobile_sync.enums import ConflictAction, ConflictStatus

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Sync queue", "/field/sync", "field:read", order=38))

SHOWN = 200  # a queue longer than this is worked from the API's pages


@router.get("/field/sync", response_class=HTMLResponse)
def sync_queue(
    request: Request,
    session: DbSession,
    status: Annotated[str, Query(pattern="^(open|applied|discarded)?$")] = "open",
) -> Response:
    """The conflict queue (open ones first by default) and the records still missing
    photos, with what the device sent and why the server did not apply it."""
    actor = page_actor(request, session, "field:read")
    queued, queued_total = conflicts.list_conflicts(
        session, actor=actor, status=status or None, offset=0, limit=SHOWN
    )
    incomplete, incomplete_total = conflicts.list_incomplete(
        session, actor=actor, offset=0, limit=SHOWN
    )
    return render(
        request,
        "field_sync.html",
        actor,
        title="Sync queue",
        conflicts=queued,
        conflicts_total=queued_total,
        incomplete=incomplete,
        incomplete_total=incomplete_total,
        status=status,
        statuses=[s.value for s in ConflictStatus],
        can_resolve=actor.has_scope("field:write"),
    )


@router.post("/field/sync/conflicts/{conflict_id}/resolve")
def resolve_conflict(
    request: Request,
    session: DbSession,
    conflict_id: Id,
    action: Annotated[ConflictAction, Form()],
    note: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Apply the field's record over the office's change, or keep the office's data."""
    actor = page_actor(request, session, "field:write")
    conflicts.resolve(session, actor=actor, conflict_id=conflict_id, action=action, note=note)
    return RedirectResponse("/field/sync", status_code=303)
