"""Transactional outbox: domain events stored in the same transaction as the change.

``emit`` writes the event row in the caller's session and remembers it on the innermost
open transaction. The pending events follow that transaction:

- a savepoint released (``begin_nested`` committed) hands its events to the enclosing
  transaction; a savepoint rolled back drops its own events and keeps the earlier ones;
- only when the session's outermost transaction commits are they given to the dispatcher
  that the composition root installed (``install_dispatcher``): Celery in production.
  A rollback drops them with the change.

A session joined to a longer transaction it does not own (a test's connection, through
``join_transaction_mode="create_savepoint"``) has not committed anything durable when its
own outermost transaction ends: its events go only to a dispatcher that runs inside that
transaction (``InTransactionDispatcher``). Others leave them to the sweeper, which sends
them if that transaction ever commits.

``after_commit`` schedules any other work (a Celery task a handler sends) on the same terms.
Handlers run once per (event, handler): ``deliver`` inserts the delivery row in the
handler's own transaction, so a redelivered message finds it and does nothing. This module
knows nothing of Celery: the dispatcher is injected.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Engine, ForeignKey, Integer, Text, event, func, update
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, sessionmaker

from core.bulk import copy_columns, text_values
from core.context import SYSTEM, acting_as
from core.db import get_engine
from core.events import DomainEvent, handlers_for, parse_event
from core.logging import get_logger
from core.models import Base
from core.territory import GLOBAL

log = get_logger(__name__)


class OutboxEvent(Base):
    """A domain event (a posted payment, a closed case ...) waiting for or past dispatch."""

    __territory__ = GLOBAL
    __tablename__ = "core_outbox_event"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class EventDelivery(Base):
    """Proof that one handler has processed one event: the key of exactly-once handling."""

    __territory__ = GLOBAL
    __tablename__ = "core_event_delivery"

    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("core_outbox_event.id", ondelete="CASCADE"), primary_key=True
    )
    handler: Mapped[str] = mapped_column(Text, primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# -- dispatchers ---------------------------------------------------------------------------


class Dispatcher(Protocol):
    """Delivers the events of a committed transaction to their handlers."""

    # True when it runs the handlers inside the committing connection's transaction, so it
    # may act even when that transaction is a longer one that is still open.
    runs_in_transaction: bool

    def dispatch(self, event_ids: Sequence[uuid.UUID], bind: Engine | Connection) -> None: ...


class _LeaveForSweeper:
    """Before start-up wiring: events stay in the table until the sweeper sends them."""

    runs_in_transaction = False

    def dispatch(self, event_ids: Sequence[uuid.UUID], bind: Engine | Connection) -> None:
        log.warning("outbox.no_dispatcher", events=len(event_ids))


class InTransactionDispatcher:
    """Runs every handler synchronously when the emitting session commits, on that
    session's own connection.

    For tests: install it (``with use_dispatcher(InTransactionDispatcher()):``) and commit a
    session bound to the test's connection; each handler then runs in a savepoint of the
    test's transaction (rolled back with it), and the events a handler emits run at that
    handler's commit, so a whole event chain happens before ``commit()`` returns. A handler's
    error propagates to the committing caller. Never in production: the committer would
    wait for every handler, and a failure would look like a failed commit.
    """

    runs_in_transaction = True

    def dispatch(self, event_ids: Sequence[uuid.UUID], bind: Engine | Connection) -> None:
        for event_id in event_ids:
            deliver(event_id, bind=bind)


_dispatcher: Dispatcher = _LeaveForSweeper()


def install_dispatcher(dispatcher: Dispatcher) -> Dispatcher:
    """Set the process-wide dispatcher (the composition root does); return the previous."""
    global _dispatcher
    previous, _dispatcher = _dispatcher, dispatcher
    return previous


@contextmanager
def use_dispatcher(dispatcher: Dispatcher) -> Iterator[Dispatcher]:
    """Use ``dispatcher`` for the duration of the block (a test's), then restore."""
    previous = install_dispatcher(dispatcher)
    try:
        yield dispatcher
    finally:
        install_dispatcher(previous)


# -- pending work, per transaction -----------------------------------------------------------

_PENDING_KEY = "kilowatch_outbox_pending"
_ROOT = "root"  # key of the session's outermost transaction (begun or about to be)
_RELEASED = "released"  # the outermost transaction's work, once it has committed


@dataclass
class _Pending:
    events: list[uuid.UUID] = field(default_factory=list)
    callbacks: list[Callable[[], None]] = field(default_factory=list)

    def extend(self, other: _Pending) -> None:
        self.events.extend(other.events)
        self.callbacks.extend(other.callbacks)


def _pending(session: Session) -> dict[object, _Pending]:
    pending: dict[object, _Pending] = session.info.setdefault(_PENDING_KEY, {})
    return pending


def _current(session: Session) -> _Pending:
    """The pending work of the innermost open transaction (a savepoint, or the outermost)."""
    key: object = session.get_nested_transaction() or _ROOT
    return _pending(session).setdefault(key, _Pending())


def _enclosing_key(transaction: SessionTransaction) -> object:
    parent = transaction.parent
    while parent is not None and not parent.nested:
        parent = parent.parent
    return parent if parent is not None else _ROOT


def emit(session: Session, domain_event: DomainEvent) -> uuid.UUID:
    """Record a domain event in the caller's transaction; dispatched only after the
    outermost transaction commits."""
    event_id = uuid.uuid4()
    session.add(OutboxEvent(id=event_id, name=domain_event.name, payload=domain_event.payload()))
    _current(session).events.append(event_id)
    return event_id


def emit_many(session: Session, domain_events: Sequence[DomainEvent]) -> list[uuid.UUID]:
    """``emit`` for many events at once (a batch of payments): one COPY instead of one ORM
    object per event (the ORM's bulk INSERT spent about a millisecond of Python per row);
    dispatched on the same terms."""
    ids = [uuid.uuid4() for _ in domain_events]
    if ids:
        session.flush()  # the session's pending rows go first, as an INSERT would have
        copy_columns(
            session,
            OutboxEvent.__tablename__,
            {
                "id": [str(i) for i in ids],
                "name": text_values([e.name for e in domain_events]),
                "payload": text_values([json.dumps(e.payload()) for e in domain_events]),
            },
        )
        _current(session).events.extend(ids)
    return ids


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's outermost transaction has committed for good
    (never if it, or the savepoint it was scheduled in, rolls back)."""
    _current(session).callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    nested = session.get_nested_transaction()  # the savepoint being released, if any
    if nested is not None:
        done = pending.pop(nested, None)
        if done is not None:
            pending.setdefault(_enclosing_key(nested), _Pending()).extend(done)
        return
    released = pending.pop(_ROOT, None)
    if released is not None:
        pending[_RELEASED] = released


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING_KEY)
    if not pending:
        return
    if transaction.nested:
        pending.pop(transaction, None)  # still here: rolled back with its savepoint
        return
    if transaction.parent is not None:
        return  # an internal subtransaction (a flush's): not a boundary
    released = pending.pop(_RELEASED, None)
    pending.clear()  # whatever is left belonged to a rolled-back transaction
    if released is not None:
        _release(session.get_bind(), released)


def _release(bind: Engine | Connection, work: _Pending) -> None:
    still_inside = isinstance(bind, Connection) and bind.in_transaction()
    if still_inside and not _dispatcher.runs_in_transaction:
        return  # nothing durable yet: the sweeper sends them if the outer one commits
    if work.events:
        _dispatcher.dispatch(list(work.events), bind)
    if still_inside:
        return  # follow-up work (tasks) would read data that is not committed
    for callback in work.callbacks:
        callback()


# -- delivery ------------------------------------------------------------------------------


def _unit_of_work(bind: Engine | Connection | None) -> AbstractContextManager[Session]:
    """A session committed at the end (rolled back on error); on a connection that is
    inside a transaction, a savepoint of it."""
    return sessionmaker(
        bind=bind if bind is not None else get_engine(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    ).begin()


@contextmanager
def _one_connection(bind: Engine | Connection | None) -> Iterator[Engine | Connection]:
    """The connection every transaction of one delivery runs on: the caller's, or one
    checked out once from the pool (a checkout per transaction costs a pre-ping and a
    pool round each, on the path of every event)."""
    if isinstance(bind, Connection):
        yield bind
        return
    with (bind if bind is not None else get_engine()).connect() as connection:
        yield connection


def _mark_dispatched(session: Session, event_id: uuid.UUID) -> None:
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id)
        .values(dispatched_at=datetime.now(UTC), attempts=OutboxEvent.attempts + 1)
    )


def deliver(event_id: uuid.UUID, *, bind: Engine | Connection | None = None) -> int:
    """Run every handler of one committed event that has not run yet; return how many ran.

    Each handler runs in its own transaction with its delivery record, so it runs once even
    when the event is delivered twice; the event is marked dispatched when all have run (in
    the last handler's transaction when that one runs now, else in one of its own). Every
    transaction of the delivery uses one connection. A handler's error propagates (the
    caller records it and retries later)."""
    with acting_as(SYSTEM, request_id=f"event:{event_id}"), _one_connection(bind) as connection:
        with _unit_of_work(connection) as session:
            row = session.get(OutboxEvent, event_id)
            if row is None or row.dispatched_at is not None:
                return 0
            name, payload = row.name, dict(row.payload)
        handlers = list(handlers_for(name).items())
        domain_event = parse_event(name, payload) if handlers else None
        ran = 0
        marked = False
        for position, (handler_name, handler) in enumerate(handlers, start=1):
            with _unit_of_work(connection) as session:
                claimed = session.execute(
                    insert(EventDelivery)
                    .values(event_id=event_id, handler=handler_name)
                    .on_conflict_do_nothing()
                    .returning(EventDelivery.handler)
                ).first()
                if claimed is None:
                    continue  # already handled (redelivery or concurrent worker)
                handler(session, domain_event, event_id)
                ran += 1
                if position == len(handlers):
                    _mark_dispatched(session, event_id)
                    marked = True
        if not marked:
            with _unit_of_work(connection) as session:
                _mark_dispatched(session, event_id)
    return ran


def record_failure(event_id: uuid.UUID, error: BaseException) -> None:
    """Count a failed delivery and keep its error for the operator (the retry follows)."""
    with _unit_of_work(None) as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(attempts=OutboxEvent.attempts + 1, last_error=repr(error)[:2000])
        )
