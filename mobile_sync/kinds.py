"""The record-kind registry: how each kind of pushed record is checked and applied.

A kind handler takes a run of records of its kind (in the order the device sent them) and
answers one outcome per record: applied (with the id of what it made and its flags),
conflict (master data changed by the office: queued) or rejected (a stable code). It works
through the owning domain's services (a reading through meters', a work-order outcome
through field's) and only flushes. The push engine (``mobile_sync.push``) calls it inside a
savepoint for the whole run and, if that fails, once per record in a savepoint each, so one
bad record never takes the others with it.

Handlers register at import (``register``); field's kinds register when field is wired
(``mobile_sync.field_kinds``). A kind with no handler is answered ``rejected`` with code
``kind_unsupported``: the device keeps nothing it cannot deliver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from core.context import Actor
from mobile_sync.enums import RecordKind
from mobile_sync.models import SyncDevice
from mobile_sync.schemas import PushRecord


@dataclass(frozen=True)
class PushContext:
    """What every record of one push shares."""

    session: Session
    actor: Actor
    device: SyncDevice
    received_at: datetime
    clock_offset_s: float  # server time minus device time when it sent the batch
    force: bool = False  # the office applies a queued conflict: no version check


@dataclass
class Item:
    """One record to apply, with what the engine already worked out for it."""

    record: PushRecord
    captured_at: datetime  # corrected by the device's clock offset
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    server_id: int | None
    flags: tuple[str, ...] = ()
    detail: str | None = None


@dataclass(frozen=True)
class Rejected:
    code: str
    detail: str


@dataclass(frozen=True)
class Conflict:
    code: str
    detail: str
    entity_kind: str | None = None
    entity_id: int | None = None
    current_version: int | None = None


Outcome = Applied | Rejected | Conflict


class KindHandler(Protocol):
    def __call__(self, ctx: PushContext, items: Sequence[Item]) -> list[Outcome]: ...


_HANDLERS: dict[RecordKind, KindHandler] = {}


def register(kind: RecordKind) -> Callable[[KindHandler], KindHandler]:
    def decorate(handler: KindHandler) -> KindHandler:
        _HANDLERS[kind] = handler
        return handler

    return decorate


def handler_for(kind: RecordKind) -> KindHandler | None:
    return _HANDLERS.get(kind)


def registered() -> list[RecordKind]:
    return sorted(_HANDLERS)
