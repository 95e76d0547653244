"""Signed JWT access tokens (HS256) carrying the user's id, scopes and agency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from core.errors import NotAuthenticatedError
from core.settings import get_settings

ALGORITHM = "HS256"
ISSUER = "kilowatch"


def issue_token(
    *, user_id: int, username: str, scopes: frozenset[str], agency_id: int | None
) -> tuple[str, int]:
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "username": username,
        "scope": " ".join(sorted(scopes)),
        "agency": agency_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.resolved_secret_key(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_token(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            get_settings().resolved_secret_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticatedError("the access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise NotAuthenticatedError("the access token is invalid") from exc
    return claims
