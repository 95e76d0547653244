"""OAuth2 password flow and the caller's own identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import CurrentActor, DbSession
from api.schemas import problem_response
from core.auth.errors import CredentialsInvalidError
from core.auth.scopes import scopes_for
from core.auth.service import authenticate

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - OAuth2 token type
    expires_in: int
    scope: str


class MeResponse(BaseModel):
    user_id: int | None
    username: str
    scopes: list[str]
    agency_id: int | None


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        401: problem_response("Username or password is wrong"),
        413: problem_response("Body too large"),
        422: problem_response("Input is invalid"),
        429: problem_response("Too many failed attempts: try again later"),
    },
)
def issue_token(
    request: Request, session: DbSession, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    """Exchange a username and password for a bearer token (OAuth2 password flow).

    The client address is the peer's, or the one a trusted proxy forwarded
    (``api.forwarded``): sign-in limits count failures per username and address."""
    client = request.client.host if request.client else "unknown"
    try:
        user, token, expires_in = authenticate(
            session, username=form.username, password=form.password, client_address=client
        )
    except CredentialsInvalidError:
        session.commit()  # count the failure even though the request fails
        raise
    return TokenResponse(
        access_token=token, expires_in=expires_in, scope=" ".join(sorted(scopes_for(user.roles)))
    )


@router.get(
    "/me", response_model=MeResponse, responses={401: problem_response("Not authenticated")}
)
def me(actor: CurrentActor()) -> MeResponse:  # type: ignore[valid-type]
    """Who the token belongs to and what it may do."""
    return MeResponse(
        user_id=actor.user_id,
        username=actor.username,
        scopes=sorted(actor.scopes),
        agency_id=actor.agency_id,
    )
