"""Request plumbing: one database session per request, the authenticated principal, scopes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.orm import Session

from core.auth.companies import COMPANY_HEADER
from core.auth.scopes import SCOPE_DESCRIPTIONS
from core.auth.service import actor_from_token
from core.context import Actor
from core.db import stamp_transaction, unit_of_work
from core.errors import NotAuthenticatedError, PermissionDeniedError

TOKEN_COOKIE = "kw_token"  # noqa: S105 - a cookie name

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token", scopes=SCOPE_DESCRIPTIONS, auto_error=False
)


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed once after the route returns and BEFORE the
    response is sent, rolled back on any error. Tests replace the session factory on
    ``app.state``.

    ``DbSession`` declares this dependency with ``scope="function"`` (FastAPI >= 0.121.1):
    its exit runs when the route function (and the response's serialisation) is done, not
    after the response has gone out as the default ``"request"`` scope does. A failing
    commit (a deferred constraint, a serialisation failure, a dropped connection) therefore
    reaches the exception handlers of ``api.problems`` and the client gets a problem+json
    (409 / 503 / 500), never a 2xx for a write that does not exist.
    """
    with unit_of_work(request.app.state.session_factory()) as session:
        yield session


# One declaration for every route and page: FastAPI caches a dependency per request by
# (callable, scope), so every ``DbSession`` of a request shares one session.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _token_from(request: Request, bearer: str | None) -> str | None:
    if bearer:
        return bearer
    # Server-rendered pages authenticate with an HttpOnly, SameSite=Strict cookie.
    return request.cookies.get(TOKEN_COOKIE)


def get_actor(
    security_scopes: SecurityScopes,
    request: Request,
    session: DbSession,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    token = _token_from(request, bearer)
    if not token:
        raise NotAuthenticatedError("a bearer token is required")
    actor = actor_from_token(session, token, request.headers.get(COMPANY_HEADER))
    missing = [s for s in security_scopes.scopes if not actor.has_scope(s)]
    if missing:
        raise PermissionDeniedError(f"this action needs the scope(s): {', '.join(missing)}")
    request.state.actor = actor
    # The token lookup opened the request's transaction as "anonymous": stamp the actor on
    # it so the audit trigger records who made every change in this request.
    stamp_transaction(session, actor, getattr(request.state, "request_id", None))
    return actor


def require(*scopes: str) -> object:
    """Dependency requiring a token holding every one of ``scopes``."""
    return Security(get_actor, scopes=list(scopes))


def CurrentActor(*scopes: str) -> type[Actor]:
    return Annotated[Actor, Security(get_actor, scopes=list(scopes))]  # type: ignore[return-value]
