"""Every PostgreSQL advisory-lock key the system takes, named in one registry.

Two features picking the same bare number would silently serialise (or worse, exclude)
each other; here each lock has a name and a distinct space, and a test checks that no
two share a value. Locks are transaction-scoped: released at commit or rollback.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


class LockSpace(IntEnum):
    """The first key of a two-int advisory lock: what kind of thing is locked."""

    READING_PARTITIONS = 7_311_001  # creating monthly partitions of meter_reading
    READING_BULK_JOB = 7_311_002  # a bulk reading load's side tables (second key: job)
    READING_RULE_SETS = 7_311_003  # activating a validation rule set
    READING_IMPORT_FILE = 7_311_004  # one import of one file at a time (second key: hash)
    DEMO_BUILD = 7_311_010  # building the demo utility (second key: seed)
    LOGIN_USERNAME = 7_311_020  # sign-in attempts for one username (second key: its hash)
    SYNC_DEVICE_PUSH = 7_311_040  # one push of one handheld at a time (second key: device)
    IDEMPOTENCY_KEY = 7_311_030  # one request per Idempotency-Key (second key: its hash)
    PAYMENT_ALLOCATION = 7_311_031  # allocating a customer account's payments (key: account)
    CASH_DESK = 7_311_032  # opening, counting, closing one cash desk session (key: session)
    BANK_STATEMENT = 7_311_033  # importing one bank statement (second key: its hash)


def xact_lock(session: Session | Connection, space: LockSpace, key: int = 0) -> None:
    """Wait for and take the lock (space, key) until the transaction ends (of a session, or
    of a bare connection: a short transaction of its own)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": int(space), "key": key}
    )


def try_xact_lock(session: Session, space: LockSpace, key: int = 0) -> bool:
    """Take the lock (space, key) if free; False when another transaction holds it."""
    return bool(
        session.execute(
            text("SELECT pg_try_advisory_xact_lock(:space, :key)"),
            {"space": int(space), "key": key},
        ).scalar()
    )


def int32_key(value: int) -> int:
    """Fold any integer (a job id, a hash) into the signed 32-bit second key."""
    return (value & 0xFFFFFFFF) - (1 << 32 if value & 0x80000000 else 0)


def xact_locks(session: Session, space: LockSpace, keys: list[int]) -> None:
    """Wait for and take the locks (space, key) of every key, in one statement and in key
    order (two batches locking overlapping keys then never deadlock)."""
    ordered = sorted({int32_key(k) for k in keys})
    if ordered:
        session.execute(
            text("SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(:keys) AS k"),
            {"space": int(space), "keys": ordered},
        )
