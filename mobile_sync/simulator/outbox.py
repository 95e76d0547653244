"""A simulated handheld's durable state: one SQLite file per device.

What a phone keeps across crashes and restarts: its enrollment (id and secret), its pull
cursor and the assignments it pulled, the outbox of records not yet receipted, the photos
not yet stored by the server, and (for checking a run afterwards) the ledger of every
record it ever created and every receipt it got. A record leaves the outbox only in the
same SQLite transaction that stores its receipt: a crash between the server's commit and
that moment leaves it in the outbox, and sending it again is answered ``duplicate``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                                   uuid TEXT UNIQUE NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS created (uuid TEXT PRIMARY KEY, kind TEXT NOT NULL,
                                    body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (uuid TEXT PRIMARY KEY, status TEXT NOT NULL,
                                     body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL,
                                   stored INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS assignments (kind TEXT NOT NULL, id INTEGER NOT NULL,
                                        version INTEGER NOT NULL, body TEXT NOT NULL,
                                        PRIMARY KEY (kind, id));
"""


class Outbox:
    """The device's SQLite file (WAL, synchronous FULL: a commit survives a crash)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- settings --------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, **values: Any) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(k, str(v)) for k, v in values.items()],
            )

    # -- assignments ------------------------------------------------------------------------

    def apply_changes(self, changes: list[dict[str, Any]], cursor: str, route_version: int) -> None:
        """Store pulled changes (a deletion drops the row) and the cursor, at once."""
        with self.transaction() as db:
            for change in changes:
                if change["deleted"]:
                    db.execute(
                        "DELETE FROM assignments WHERE kind = ? AND id = ? AND version < ?",
                        (change["kind"], change["id"], change["version"]),
                    )
                else:
                    db.execute(
                        "INSERT INTO assignments (kind, id, version, body) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, "
                        "body = excluded.body WHERE excluded.version > assignments.version",
                        (change["kind"], change["id"], change["version"], json.dumps(change)),
                    )
            db.executemany(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [("cursor", cursor), ("route_version", str(route_version))],
            )

    def assignments(self, kind: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT body FROM assignments WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- records -----------------------------------------------------------------------------

    def add(self, records: list[dict[str, Any]], photos: dict[str, bytes]) -> None:
        """Capture: records and their photos kept before anything is sent."""
        with self.transaction() as db:
            for record in records:
                body = json.dumps(record)
                db.execute("INSERT INTO outbox (uuid, body) VALUES (?, ?)", (record["uuid"], body))
                db.execute(
                    "INSERT INTO created (uuid, kind, body) VALUES (?, ?, ?)",
                    (record["uuid"], record["kind"], body),
                )
            db.executemany(
                "INSERT OR IGNORE INTO photos (sha256, data) VALUES (?, ?)", photos.items()
            )

    def pending(self, limit: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT body FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [json.loads(r[0]) for r in rows.fetchall()]

    def settle(self, receipts: Iterable[dict[str, Any]]) -> None:
        """Store receipts and drop their records from the outbox, in one transaction."""
        with self.transaction() as db:
            for receipt in receipts:
                db.execute(
                    "INSERT INTO receipts (uuid, status, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (uuid) DO NOTHING",
                    (receipt["uuid"], receipt["status"], json.dumps(receipt)),
                )
                db.execute("DELETE FROM outbox WHERE uuid = ?", (receipt["uuid"],))
                for sha in receipt.get("photos_missing") or []:
                    db.execute("UPDATE photos SET stored = 0 WHERE sha256 = ?", (sha,))

    def photos_waiting(self) -> list[tuple[str, bytes]]:
        rows = self.db.execute("SELECT sha256, data FROM photos WHERE stored = 0 ORDER BY sha256")
        return [(r[0], bytes(r[1])) for r in rows.fetchall()]

    def photo_stored(self, sha256: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE photos SET stored = 1 WHERE sha256 = ?", (sha256,))

    # -- for checking a run ------------------------------------------------------------------

    def count(self, table: str) -> int:
        assert table in {"outbox", "created", "receipts", "photos"}
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def created(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT body FROM created").fetchall()
        return [json.loads(r[0]) for r in rows]

    def receipts(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT uuid, body FROM receipts").fetchall()
        return {r[0]: json.loads(r[1]) for r in rows}
