"""Reading the audit trail under the territory rule (``core.territory``).

An audit entry shows a row's values before and after a change, so a territory-bound
reader sees only the entries of rows it can see: the audited table is mapped to its model
(through the mappers registered on ``Base`` at run time: core never imports a domain),
and the entry's key must name a row of that model that ``visible`` lets through. Entries
of ``GLOBAL`` tables (rule sets, tariffs ...) are seen by every reader. Hidden from a
territory-bound reader: tables with no model or no declared rule, bulk-job summaries and
deleted rows of located tables (nothing is left to place them by). Unrestricted readers
see everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session

from core.audit import AuditLog, audited_tables_sql
from core.context import Actor
from core.models import Base
from core.pages import next_cursor
from core.territory import scope_of, visible

# An entry's key is the row's id as text, or a bulk job's key: only digits are cast.
_KEY_AS_ID = case(
    (AuditLog.entity_key.regexp_match("^[0-9]{1,18}$"), cast(AuditLog.entity_key, BigInteger)),
    else_=None,
)


def models_by_table() -> dict[str, type[Any]]:
    """Each mapped table's model (the base of an inheritance tree), from the registry."""
    found: dict[str, type[Any]] = {}
    for mapper in Base.registry.mappers:
        table = getattr(mapper.local_table, "name", None)
        if table is not None and mapper.inherits is None:
            found[table] = mapper.class_
    return found


def _declares_rule(model: type[Any]) -> bool:
    return hasattr(model, "__territory__")


def _entries_of(actor: Actor, table: str, model: type[Any]) -> ColumnElement[bool]:
    """The entries of ``table`` whose row ``actor`` sees."""
    of_table = AuditLog.table_name == table
    if model.__territory__ is None:  # GLOBAL: nothing located
        return of_table
    key = getattr(model, "id", None)
    if key is None:
        return false()
    is_numeric = isinstance(getattr(key, "type", None), Integer)
    matches = key == _KEY_AS_ID if is_numeric else cast(key, Text) == AuditLog.entity_key
    return and_(of_table, exists(select(key).where(matches, visible(actor, model))))


def entries_visible(actor: Actor, table: str | None = None) -> ColumnElement[bool]:
    """The SQL condition selecting the audit entries ``actor`` may read (of ``table``, or
    of every table)."""
    if scope_of(actor) is None:
        return true()
    models = models_by_table()
    tables = [table] if table is not None else sorted(models)
    clauses = [
        _entries_of(actor, name, models[name])
        for name in tables
        if name in models and _declares_rule(models[name])
    ]
    return or_(false(), *clauses)


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
    query = select(AuditLog).where(entries_visible(actor, table))
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
