"""Stored answers of Idempotency-Key requests are forgotten after the retention period by a
scheduled task (hourly in the beat schedule); fresher ones stay to answer replays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from core.celery_app import celery_app
from core.settings import get_settings
from core.tasks import purge_idempotency_keys


def test_old_keys_are_purged_on_schedule(engine: Engine) -> None:
    assert celery_app.conf.beat_schedule["core.purge_idempotency_keys"]["task"] == (
        "core.purge_idempotency_keys"
    )
    owner = f"purge-test-{uuid.uuid4().hex[:8]}"
    hours = get_settings().idempotency_key_retention_hours
    now = datetime.now(UTC)
    insert = text(
        "INSERT INTO core_idempotency_key (owner, key, fingerprint, status_code, media_type,"
        " body, created_at) VALUES (:owner, :key, 'f', 201, 'application/json', '', :at)"
    )
    with engine.begin() as connection:
        connection.execute(
            insert, {"owner": owner, "key": "old", "at": now - timedelta(hours=hours + 1)}
        )
        connection.execute(insert, {"owner": owner, "key": "fresh", "at": now - timedelta(hours=1)})
    try:
        assert purge_idempotency_keys() >= 1
        with engine.connect() as connection:
            kept = (
                connection.execute(
                    text("SELECT key FROM core_idempotency_key WHERE owner = :o"), {"o": owner}
                )
                .scalars()
                .all()
            )
        assert kept == ["fresh"]
        assert purge_idempotency_keys() == 0  # nothing older left
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("DELETE FROM core_idempotency_key WHERE owner = :o"), {"o": owner}
            )
