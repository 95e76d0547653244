"""A small entity of the migration format, only for the kit's tests: "gadgets", one of
each column type, written to a table the test creates (``test_gadget``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.migration import spec
from core.migration.context import MigrationContext
from core.migration.spec import Column, Entity, WriteCounts

COLUMNS = ("name", "count", "price", "weight", "born", "seen", "active")
_CHANGED = " OR ".join(f"g.{c} IS DISTINCT FROM v.{c}" for c in COLUMNS)


def _validate(ctx: MigrationContext) -> None:
    # A rule of the "domain": a gadget's count is never negative.
    ctx.problems(
        "gadgets",
        f"SELECT line, 'count', 'negative_count', 'count below zero' "
        f"FROM {ctx.staging('gadgets')} WHERE count < 0",
    )


def _write(ctx: MigrationContext) -> WriteCounts:
    valid, keys = ctx.valid("gadgets"), ctx.key_map("gadgets")
    session = ctx.session
    with ctx.each_row_audited():
        updated = session.execute(
            text(
                f"UPDATE test_gadget g SET {', '.join(f'{c} = v.{c}' for c in COLUMNS)} "
                f"FROM {valid} v JOIN {keys} k ON k.external_key = v.code "
                f"WHERE g.id = k.kilowatch_id AND ({_CHANGED})"
            )
        ).rowcount
    inserted = session.execute(
        text(
            f"INSERT INTO test_gadget (code, {', '.join(COLUMNS)}) "
            f"SELECT v.code, {', '.join('v.' + c for c in COLUMNS)} FROM {valid} v "
            f"WHERE NOT EXISTS (SELECT 1 FROM {keys} k WHERE k.external_key = v.code)"
        )
    ).rowcount
    ctx.remember_keys("gadgets", "SELECT code, id FROM test_gadget")
    total = session.execute(text(f"SELECT count(*) FROM {valid} v")).scalar_one()
    return WriteCounts(inserted, updated, total - inserted - updated)


def _export(session: Session) -> Iterable[Mapping[str, Any]]:
    rows = session.execute(
        text(f"SELECT code, {', '.join(COLUMNS)} FROM test_gadget ORDER BY code")
    ).mappings()
    return [dict(r) for r in rows]


GADGETS = Entity(
    name="gadgets",
    title="Gadgets (tests only)",
    key="code",
    columns=(
        Column("code", required=True, doc="the legacy key", examples=("G-1", "G-2")),
        Column("name", required=True, doc="what it is called", examples=("Lamp", "Fan")),
        Column("count", "integer", examples=("3", "0")),
        Column("price", "decimal", examples=("12.50", "0.99")),
        Column("weight", "float", examples=("1.5", "2")),
        Column("born", "date", examples=("2024-01-31", "2023-12-01")),
        Column("seen", "timestamp", examples=("2024-01-31T08:00:00+01:00", "")),
        Column("active", "boolean", examples=("true", "false")),
    ),
    validate=_validate,
    write=_write,
    export=_export,
)

TABLE_SQL = """
CREATE TABLE test_gadget (
  id bigserial PRIMARY KEY, code text UNIQUE NOT NULL, name text NOT NULL, count bigint,
  price numeric, weight double precision, born date, seen timestamptz, active boolean)
"""


@contextmanager
def gadgets_only(monkeypatch: pytest.MonkeyPatch, session: Session) -> Iterator[Entity]:
    """The format holding only "gadgets" (the domains' entities set aside), and its table
    (created in the test's transaction, audited like a business table)."""
    from core.audit import enable_audit_sql

    monkeypatch.setattr(spec, "_entities", {})
    spec.register(GADGETS)
    session.execute(text(TABLE_SQL))
    for statement in enable_audit_sql("test_gadget"):
        session.execute(text(statement))
    try:
        yield GADGETS
    finally:
        spec.unregister("gadgets")


@contextmanager
def committed_gadgets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Entity]:
    """The format holding only "gadgets", with its table committed (for the CLI and the
    API, whose work commits); the table, its keys and the runs are removed afterwards."""
    from core.audit import enable_audit_sql
    from core.db import session_scope

    monkeypatch.setattr(spec, "_entities", {})
    spec.register(GADGETS)
    with session_scope() as session:
        session.execute(text(TABLE_SQL))
        for statement in enable_audit_sql("test_gadget"):
            session.execute(text(statement))
        before = session.execute(text("SELECT coalesce(max(id), 0) FROM core_migration_run"))
        last_run = int(before.scalar_one())
    try:
        yield GADGETS
    finally:
        spec.unregister("gadgets")
        with session_scope() as session:
            session.execute(text("DROP TABLE IF EXISTS test_gadget"))
            session.execute(text("DELETE FROM core_migration_key WHERE entity = 'gadgets'"))
            session.execute(text("DELETE FROM core_migration_run WHERE id > :id"), {"id": last_run})
