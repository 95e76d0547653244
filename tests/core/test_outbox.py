"""Outbox semantics in-process (eager Celery): events follow the outermost transaction,
savepoints included; handlers run once; a handler's follow-up work leaves after its own
commit; the in-transaction dispatcher runs a chain inside a test's transaction."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from typing import ClassVar

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core import events
from core.celery_app import celery_app
from core.db import session_scope
from core.outbox import (
    EventDelivery,
    InTransactionDispatcher,
    OutboxEvent,
    emit,
    use_dispatcher,
)
from core.tasks import dispatch_event, send_after_commit
from tests.conftest import REPO_ROOT


class Probe(events.DomainEvent):
    name: ClassVar[str] = "test.outbox_probe"
    n: int


class ChainStart(events.DomainEvent):
    """Its handler emits a ChainNext and sends a task, then fails if asked to."""

    name: ClassVar[str] = "test.chain_start"
    n: int
    fail: bool = False


class ChainNext(events.DomainEvent):
    name: ClassVar[str] = "test.chain_next"
    n: int


CALLS: list[tuple[uuid.UUID, int]] = []
NEXT_CALLS: list[int] = []
# What the follow-up task saw: was the delivery of the handler that sent it committed?
TASK_SAW_DELIVERY: list[bool] = []


@events.handles(Probe, name="test-probe")
def _probe(_session: Session, event: Probe, event_id: uuid.UUID) -> None:
    CALLS.append((event_id, event.n))


@events.handles(ChainStart, name="test-chain-start")
def _chain_start(session: Session, event: ChainStart, event_id: uuid.UUID) -> None:
    emit(session, ChainNext(n=event.n + 1))
    send_after_commit(session, _delivery_seen, str(event_id))
    session.flush()
    if event.fail:
        raise RuntimeError("the handler failed after its follow-up work")


@events.handles(ChainNext, name="test-chain-next")
def _chain_next(_session: Session, event: ChainNext, _event_id: uuid.UUID) -> None:
    NEXT_CALLS.append(event.n)


@celery_app.task(name="test.core.delivery_seen")
def _delivery_seen(event_id: str) -> None:
    with session_scope() as session:
        seen = session.get(EventDelivery, (uuid.UUID(event_id), "test-chain-start"))
    TASK_SAW_DELIVERY.append(seen is not None)


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()
    NEXT_CALLS.clear()
    TASK_SAW_DELIVERY.clear()


@pytest.fixture()
def committed_events(database_url: str) -> Iterator[None]:
    """Tests here commit for real: the test events they leave are removed afterwards."""
    yield
    with session_scope() as session:
        session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.name.in_([Probe.name, ChainStart.name, ChainNext.name, Pair.name])
            )
        )


def _stored(event_id: uuid.UUID) -> bool:
    with session_scope() as session:
        return session.get(OutboxEvent, event_id) is not None


def test_rolled_back_transaction_sends_no_event(committed_events: None) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        event_id = emit(session, Probe(n=1))
        session.flush()
        raise RuntimeError("business rule failed")
    assert not _stored(event_id)
    assert CALLS == []


def test_committed_event_is_handled_once_after_commit(committed_events: None) -> None:
    with session_scope() as session:
        event_id = emit(session, Probe(n=2))
        session.flush()
        assert CALLS == []  # nothing runs before commit
    assert [(event_id, 2)] == CALLS
    # A redelivered message (duplicate from the broker or the sweeper) does nothing.
    with session_scope() as session:
        session.get(OutboxEvent, event_id).dispatched_at = None
    assert dispatch_event.run(str(event_id)) == 0
    assert len(CALLS) == 1
    with session_scope() as session:
        deliveries = session.scalar(
            select(func.count())
            .select_from(EventDelivery)
            .where(EventDelivery.event_id == event_id)
        )
        assert deliveries == 1
        assert session.get(OutboxEvent, event_id).dispatched_at is not None


def test_a_released_savepoint_sends_nothing_before_the_outer_commit(
    committed_events: None,
) -> None:
    with session_scope() as session:
        with session.begin_nested():
            inner = emit(session, Probe(n=3))
        with session.begin_nested(), session.begin_nested():
            deepest = emit(session, Probe(n=4))
        assert CALLS == []
        assert not _stored(inner)  # not committed yet: another connection sees nothing
    # Released savepoints handed their events to the outer transaction, sent at its commit.
    assert sorted(CALLS) == sorted([(inner, 3), (deepest, 4)])


def test_a_rolled_back_savepoint_drops_only_its_own_events(committed_events: None) -> None:
    with session_scope() as session:
        before = emit(session, Probe(n=5))
        with pytest.raises(RuntimeError), session.begin_nested():
            dropped = emit(session, Probe(n=6))
            session.flush()
            raise RuntimeError("this step failed; the rest of the work goes on")
        with session.begin_nested():
            after = emit(session, Probe(n=7))
    assert sorted(CALLS) == sorted([(before, 5), (after, 7)])
    assert not _stored(dropped)


def test_a_handlers_follow_up_leaves_after_its_own_commit(committed_events: None) -> None:
    with session_scope() as session:
        emit(session, ChainStart(n=10))
    # The task ran after the handler's delivery row was committed, and the event the
    # handler emitted was handled after that commit too.
    assert TASK_SAW_DELIVERY == [True]
    assert NEXT_CALLS == [11]


def test_a_failing_handler_sends_no_follow_up(committed_events: None) -> None:
    with session_scope() as session:
        start = emit(session, ChainStart(n=20, fail=True))
    assert TASK_SAW_DELIVERY == []
    assert NEXT_CALLS == []
    with session_scope() as session:
        names = session.scalars(select(OutboxEvent.name).where(OutboxEvent.name == ChainNext.name))
        assert list(names) == []
        stored = session.get(OutboxEvent, start)
        assert (stored.dispatched_at, stored.attempts) == (None, 1)
        assert "the handler failed" in stored.last_error


def test_an_event_chain_runs_inside_the_tests_transaction(db: Session) -> None:
    with use_dispatcher(InTransactionDispatcher()):
        start = emit(db, ChainStart(n=30))
        db.commit()  # releases the test's savepoint: the chain runs on its connection
    assert NEXT_CALLS == [31]
    handled = db.scalars(
        select(EventDelivery.handler)
        .join(OutboxEvent, OutboxEvent.id == EventDelivery.event_id)
        .where(OutboxEvent.name.in_([ChainStart.name, ChainNext.name]))
        .order_by(EventDelivery.handler)
    ).all()
    assert handled == ["test-chain-next", "test-chain-start"]
    assert db.get(OutboxEvent, start).dispatched_at is not None
    # None of it is committed: another connection sees nothing, and no task left
    # (a task would read data that is not committed).
    assert not _stored(start)
    assert TASK_SAW_DELIVERY == []


class _Recorder:
    runs_in_transaction = False

    def __init__(self) -> None:
        self.sent: list[uuid.UUID] = []

    def dispatch(self, event_ids: Sequence[uuid.UUID], bind: Engine | Connection) -> None:
        self.sent.extend(event_ids)


def test_a_session_inside_a_longer_transaction_sends_nothing_at_its_commit(db: Session) -> None:
    with use_dispatcher(_Recorder()) as recorder:
        emit(db, Probe(n=40))
        db.commit()  # only a savepoint of the test's transaction: nothing is durable yet
    assert recorder.sent == []


def test_core_outbox_does_not_know_celery() -> None:
    probe = "import sys, core.outbox; print(sorted(m for m in ('celery', 'core.tasks') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


class Pair(events.DomainEvent):
    """Two handlers; the second fails while ``PAIR_FAILS`` holds."""

    name: ClassVar[str] = "test.outbox_pair"

    n: int


PAIR_CALLS: list[str] = []
PAIR_FAILS: list[bool] = []


@events.handles(Pair, name="test-pair-first")
def _pair_first(_session: Session, _event: Pair, _event_id: uuid.UUID) -> None:
    PAIR_CALLS.append("first")


@events.handles(Pair, name="test-pair-second")
def _pair_second(_session: Session, _event: Pair, _event_id: uuid.UUID) -> None:
    PAIR_CALLS.append("second")
    if PAIR_FAILS:
        raise RuntimeError("the second handler failed")


def test_one_delivery_uses_one_connection_and_marks_with_the_last_handler(
    committed_events: None,
) -> None:
    from sqlalchemy import event as sa_event

    from core.db import get_engine
    from core.outbox import deliver

    PAIR_CALLS.clear()
    PAIR_FAILS.append(True)
    try:
        with use_dispatcher(InTransactionDispatcher()), session_scope() as session:
            failing = emit(session, Pair(n=1))
    except RuntimeError:
        pass  # the in-transaction dispatcher hands the handler's error to the committer
    finally:
        PAIR_FAILS.clear()
    # The first handler's work is kept (its own transaction), the event is not marked.
    assert PAIR_CALLS == ["first", "second"]
    with session_scope() as session:
        assert session.get(OutboxEvent, failing).dispatched_at is None
    checkouts: list[object] = []
    engine = get_engine()

    def count(*_args: object) -> None:
        checkouts.append(1)

    sa_event.listen(engine, "checkout", count)
    try:
        # The retry: only the second handler runs, on one pooled connection, and marks it.
        assert deliver(failing) == 1
    finally:
        sa_event.remove(engine, "checkout", count)
    assert PAIR_CALLS == ["first", "second", "second"]
    assert len(checkouts) == 1  # read, handler and mark: one connection, not three
    with session_scope() as session:
        row = session.get(OutboxEvent, failing)
        assert row.dispatched_at is not None and row.attempts == 1
    # Every handler done already (a redelivery after a lost mark): marked on its own.
    with session_scope() as session:
        session.get(OutboxEvent, failing).dispatched_at = None
    assert deliver(failing) == 0
    with session_scope() as session:
        assert session.get(OutboxEvent, failing).dispatched_at is not None
