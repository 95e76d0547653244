"""Reading the audit trail under the territory rule (``core.territory``).

An audit entry shows a row's values before and after a change, so a territory-bound
reader sees only the entries of rows it can see: ``AuditLog.__territory__`` (in
``core.audit``) places each entry where its row is, through that row's model's own rule.
Unrestricted readers see everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    select,
    text,
)
from sqlalchemy.orm import Session

from core.audit import AuditLog, audited_tables_sql, models_by_table
from core.context import Actor
from core.pages import next_cursor
from core.territory import scope_of, visible


def _declares_rule(model: type[Any]) -> bool:
    return hasattr(model, "__territory__")


def audit_entries(
    session: Session,
    actor: Actor,
    *,
    table: str | None = None,
    key: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> tuple[list[AuditLog], int | None]:
    """Changes ``actor`` may read, newest first, to one table (or one record of it, or
    every table), keyset-paginated on the entry id: the page and the next cursor."""
    query = select(AuditLog).where(visible(actor, AuditLog))
    if table is not None:
        query = query.where(AuditLog.table_name == table)
    if key is not None:
        query = query.where(AuditLog.entity_key == key)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    rows = list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)))
    return rows, next_cursor([r.id for r in rows], limit)


def audited_tables(session: Session, actor: Actor) -> list[str]:
    """The audited tables whose entries ``actor`` may read some of (from the catalogue)."""
    tables = sorted(str(t) for t in session.scalars(text(audited_tables_sql())))
    if scope_of(actor) is None:
        return tables
    models = models_by_table()
    return [t for t in tables if t in models and _declares_rule(models[t])]
