"""Who is acting and in which request: carried in context variables.

The database session copies them into transaction-local settings so the audit trigger
can record actor, request id and reason for every change, whatever code made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The authenticated principal (a user, or a system job) on whose behalf work is done."""

    user_id: int | None
    username: str
    scopes: frozenset[str] = frozenset()
    agency_id: int | None = None
    # The agency whose outline bounds what this principal sees (``core.territory``),
    # resolved at authentication: None when unrestricted (no agency, or no outline).
    territory_agency_id: int | None = None
    # The company this principal works for in this request (``core_company``): the
    # company's own tables (tariffs, series, policies ...) are limited to it. None: every
    # company (system jobs).
    company_id: int | None = None
    # The company whose agencies' outlines bound what an agency-less principal sees,
    # resolved at authentication: None when this Kilowatch serves one company only (the
    # whole network is its), or when an agency bounds the principal already.
    territory_company_id: int | None = None
    # The interface language the user chose (None: their browser's, else the deployment's).
    language: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def sees_all_territories(self) -> bool:
        return self.territory_agency_id is None and self.territory_company_id is None


SYSTEM = Actor(user_id=None, username="system", scopes=frozenset({"*"}))

_actor: ContextVar[Actor | None] = ContextVar("kilowatch_actor", default=None)
_request_id: ContextVar[str | None] = ContextVar("kilowatch_request_id", default=None)
_reason: ContextVar[str | None] = ContextVar("kilowatch_reason", default=None)


def current_actor() -> Actor | None:
    return _actor.get()


def current_request_id() -> str | None:
    return _request_id.get()


def current_reason() -> str | None:
    return _reason.get()


@contextmanager
def acting_as(
    actor: Actor | None, request_id: str | None = None, reason: str | None = None
) -> Iterator[None]:
    tokens = (_actor.set(actor), _request_id.set(request_id), _reason.set(reason))
    try:
        yield
    finally:
        _actor.reset(tokens[0])
        _request_id.reset(tokens[1])
        _reason.reset(tokens[2])
