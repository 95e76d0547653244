"""Sign-in throttling: recent failed attempts decide whether a password is checked at all.

The rule (settings, all within ``login_window_seconds``):

- one username from one client address: ``login_max_failures`` failures lock that pair;
- one client address, whatever the usernames: ``login_max_failures_per_client``;
- one username, whatever the addresses: ``login_max_failures_per_username``, much higher.

Refused attempts are not recorded, so a single client can add at most
``login_max_failures`` failures to a username: the real user, signing in from elsewhere,
is locked out only when many addresses guess at once.

Attempts for one username are serialised with a transaction-scoped advisory lock held
from the count until the attempt is recorded and committed: N parallel guesses cannot all
read "no failures yet" and all get their password checked. Attempts for different
usernames from one address are not serialised (a busy office behind one NAT must not queue
for each other's password checks), so the per-address limit may be passed by the number of
guesses in flight at once before it bites.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.auth.errors import LoginRateLimitedError
from core.auth.models import LoginAttempt
from core.locks import LockSpace, int32_key, xact_lock
from core.settings import get_settings


def username_key(username: str) -> str:
    """Usernames are case-insensitive (the unique index is on ``lower(username)``)."""
    return username.lower()


def hold_username(session: Session, username: str) -> None:
    """Wait for the attempts on this username in flight elsewhere; hold it until commit."""
    # crc32: the same key in every process (Python's hash() is salted per process).
    key = int32_key(zlib.crc32(username_key(username).encode("utf-8")))
    xact_lock(session, LockSpace.LOGIN_USERNAME, key)


def refuse_if_throttled(session: Session, *, username: str, client_address: str) -> None:
    """Raise ``LoginRateLimitedError`` when any of the three limits is reached."""
    settings = get_settings()
    name = username_key(username)
    since = datetime.now(UTC) - timedelta(seconds=settings.login_window_seconds)
    same_name = LoginAttempt.username == name
    same_client = LoginAttempt.client_address == client_address
    pair, client, name_wide = session.execute(
        select(
            func.count().filter(same_name, same_client),
            func.count().filter(same_client),
            func.count().filter(same_name),
        ).where(
            LoginAttempt.at >= since,
            LoginAttempt.succeeded.is_(False),
            or_(same_name, same_client),
        )
    ).one()
    if (
        pair >= settings.login_max_failures
        or client >= settings.login_max_failures_per_client
        or name_wide >= settings.login_max_failures_per_username
    ):
        raise LoginRateLimitedError(
            "too many failed sign-in attempts; try again later",
            extra={"retry_after": settings.login_window_seconds},
        )


def record_attempt(
    session: Session, *, username: str, client_address: str, succeeded: bool
) -> None:
    session.add(
        LoginAttempt(
            username=username_key(username), client_address=client_address, succeeded=succeeded
        )
    )
    session.flush()
