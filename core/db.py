"""Engine and sessions: one session per request or task, committed once by its owner.

Services receive a session and only flush; the API request scope, the CLI command and the
Celery task that own the session commit it (``session_scope``) or roll it back on error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from core.context import Actor, current_actor, current_reason, current_request_id
from core.settings import get_settings


class DatabaseNotConfiguredError(RuntimeError):
    """No KILOWATCH_DATABASE_URL and no embedded cluster started (``kilowatch db up``)."""


def database_url() -> str:
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    from core.embedded_pg import EmbeddedCluster

    url = EmbeddedCluster.from_settings(settings).url_if_running()
    if url is None:
        raise DatabaseNotConfiguredError(
            "no database: set KILOWATCH_DATABASE_URL or run `kilowatch db up` first"
        )
    return url


def json_loads(raw: str | bytes) -> Any:
    """JSON and JSONB column values, parsed by orjson (several times faster than the
    standard library: a 500-stop pull reads 1,000 of them); what orjson refuses and the
    standard library reads (an integer beyond 64 bits) falls back to it."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    # hide_parameters: an error message never quotes the values (password hashes, names).
    return create_engine(
        url or database_url(),
        pool_pre_ping=True,
        future=True,
        hide_parameters=True,
        json_deserializer=json_loads,
    )


@lru_cache(maxsize=8)
def _sessionmaker(url: str | None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


def new_session(url: str | None = None) -> Session:
    return _sessionmaker(url)()


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Own ``session`` for one unit of work: commit once at the end, roll back on any
    error, close it either way. The API request, the CLI command and the task use it."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work on a new session of the configured database."""
    with unit_of_work(new_session(url)) as session:
        yield session


_STAMP_SQL = text(
    "SELECT set_config('kilowatch.actor', :actor, true),"
    " set_config('kilowatch.actor_id', :actor_id, true),"
    " set_config('kilowatch.request_id', :request_id, true),"
    " set_config('kilowatch.reason', :reason, true)"
)


def _stamp(
    connection: Any, actor: Actor | None, request_id: str | None, reason: str | None
) -> None:
    connection.execute(
        _STAMP_SQL,
        {
            "actor": actor.username if actor else "anonymous",
            "actor_id": str(actor.user_id) if actor and actor.user_id is not None else "",
            "request_id": request_id or "",
            "reason": reason or "",
        },
    )


def stamp_transaction(
    session: Session, actor: Actor | None, request_id: str | None = None, reason: str | None = None
) -> None:
    """Record who acts in the session's current transaction (for the audit trigger)."""
    _stamp(session.connection(), actor, request_id, reason)


def state_reason(session: Session, reason: str | None) -> None:
    """Why the rest of this transaction changes what it changes: the audit trigger writes
    ``reason`` on every row it records from now until the transaction ends. The one way to
    state a reason from inside a unit of work (``acting_as(reason=...)`` sets it for
    transactions that have not begun yet)."""
    session.execute(
        text("SELECT set_config('kilowatch.reason', :reason, true)"), {"reason": reason or ""}
    )


@event.listens_for(Session, "after_begin")
def _stamp_transaction(session: Session, _transaction: Any, connection: Any) -> None:
    """Copy actor, request id and reason into transaction-local settings for the audit trigger."""
    _stamp(connection, current_actor(), current_request_id(), current_reason())
