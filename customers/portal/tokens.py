"""Portal access tokens: signed like staff tokens but for another audience, so a staff
token never opens the portal and a customer token never opens a staff route (PyJWT refuses
a token whose audience is not the one asked for, and one with an audience when none is)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from core.auth.tokens import ALGORITHM, ISSUER
from core.errors import NotAuthenticatedError
from core.settings import get_settings

AUDIENCE = "kilowatch-portal"


def issue_portal_token(*, identity_id: int, party_id: int) -> tuple[str, int]:
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(identity_id),
        "party": party_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.resolved_secret_key(), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_portal_token(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            get_settings().resolved_secret_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticatedError("the portal token has expired") from exc
    except jwt.PyJWTError as exc:
        raise NotAuthenticatedError("the portal token is invalid") from exc
    return claims
