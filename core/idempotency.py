"""Exactly-once requests: an ``Idempotency-Key`` names one attempt of a client's request.

The first request with a key runs and its answer (status, media type, body) is stored in
the same transaction as the work it did, so either both exist or neither does. A replay
of the key with the same request gets that stored answer back without running anything; the
same key with a different request is refused (``idempotency_key_reused``). Concurrent
requests with one key are serialised by a transaction-scoped advisory lock
(``LockSpace.IDEMPOTENCY_KEY``): the second waits for the first to commit and then
finds its answer (or, if the first rolled back, runs as if it were first).

Keys belong to one principal (``owner``): another caller's key never replays someone
else's answer. A request that fails (any error, rolled back) stores nothing, so the client
may retry it with the same key. The HTTP side is ``api.idempotency``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, PrimaryKeyConstraint, Text, delete, func
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.errors import InputInvalidError
from core.locks import LockSpace, int32_key, xact_lock
from core.models import Base
from core.territory import GLOBAL

KEY_MAX_LENGTH = 255


class IdempotencyKeyReusedError(InputInvalidError):
    """The key was already used for a different request (another body or path)."""

    code = "idempotency_key_reused"
    title = "Idempotency key already used for another request"


class IdempotencyKeyInvalidError(InputInvalidError):
    code = "idempotency_key_invalid"


class IdempotencyRecord(Base):
    """The stored answer to the first request a client sent under one idempotency key."""

    # Looked up only by its owner's own key: the answer is the owner's already.
    __territory__ = GLOBAL
    __tablename__ = "core_idempotency_key"
    __table_args__ = (PrimaryKeyConstraint("owner", "key", name="pk_core_idempotency_key"),)

    owner: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text)  # sha256 of method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    media_type: str
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and body. A JSON body is compared
    by its content (key order and whitespace do not matter), anything else byte for byte."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise IdempotencyKeyInvalidError(
            f"an Idempotency-Key is 1 to {KEY_MAX_LENGTH} printable characters"
        )
    return key


def begin(session: Session, *, owner: str, key: str, print_: str) -> StoredAnswer | None:
    """Take the key for this transaction (waiting for a concurrent request holding it) and
    return the stored answer of an earlier identical request, or None to go ahead.
    Raises ``IdempotencyKeyReusedError`` when the key was used for another request."""
    key = check_key(key)
    digest = int.from_bytes(hashlib.sha256(f"{owner}\0{key}".encode()).digest()[:8], "big")
    xact_lock(session, LockSpace.IDEMPOTENCY_KEY, int32_key(digest))
    record = session.get(IdempotencyRecord, (owner, key), populate_existing=True)
    if record is None:
        return None
    if record.fingerprint != print_:
        raise IdempotencyKeyReusedError(
            "this Idempotency-Key was used for a different request: use a new key for a new "
            "request, the same body to repeat one"
        )
    return StoredAnswer(record.status_code, record.media_type, record.body)


def record(
    session: Session,
    *,
    owner: str,
    key: str,
    print_: str,
    status_code: int,
    media_type: str,
    body: bytes,
) -> None:
    """Store the answer in the caller's transaction (committed with the work it did)."""
    session.add(
        IdempotencyRecord(
            owner=owner,
            key=check_key(key),
            fingerprint=print_,
            status_code=status_code,
            media_type=media_type,
            body=body,
        )
    )
    session.flush()


def purge(session: Session, *, before: datetime) -> int:
    """Forget the answers stored before ``before`` (clients retry within hours, not weeks)."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
