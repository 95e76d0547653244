"""Set-based building blocks the domains' migration entities share: checks over a staging
table (closed vocabularies, references to other files or stored records, values checked in
Python with their libraries), and the ids of the rows a write inserts or updates.

Every function works on a whole staging table in a few statements; only the values a
library must judge (phone numbers, e-mail addresses) travel to Python, each distinct value
once. Column and entity names are the format's own identifiers (never user text), so they
are inlined; user values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import each_row_audited
from core.migration.context import MigrationContext, Problem
from core.migration.spec import WriteCounts

# A Python check: the value as typed -> (normalised value, None) or (None, message).
Check = Callable[[str], tuple[str | None, str | None]]


def rows(ctx: MigrationContext, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    return list(ctx.session.execute(text(sql), params or {}).all())


def scalar(ctx: MigrationContext, sql: str, params: dict[str, Any] | None = None) -> Any:
    return ctx.session.execute(text(sql), params or {}).scalar()


def execute(ctx: MigrationContext, sql: str, params: dict[str, Any] | None = None) -> int:
    return int(ctx.session.execute(text(sql), params or {}).rowcount or 0)  # type: ignore[attr-defined]


def updates_audited(ctx: MigrationContext) -> AbstractContextManager[None]:
    """Updates of stored records keep their before and after values in the audit trail
    row by row, even when the run declared itself a bulk job (inserts stay summarised)."""
    return each_row_audited(ctx.session)


def add_column(ctx: MigrationContext, entity: str, column: str, sql_type: str) -> None:
    """A working column of ``entity``'s staging table (normalised values, resolved ids)."""
    execute(ctx, f"ALTER TABLE {ctx.staging(entity)} ADD COLUMN IF NOT EXISTS {column} {sql_type}")


# -- checks --------------------------------------------------------------------------------


def choice(ctx: MigrationContext, entity: str, column: str, allowed: Iterable[Any]) -> int:
    """``invalid_choice`` for a value outside a closed vocabulary."""
    values = [str(v) for v in allowed]
    return ctx.problems(
        entity,
        f"SELECT line, '{column}', 'invalid_choice', "
        f"'must be one of ' || :listed FROM {ctx.valid(entity)} s "
        f"WHERE s.{column} IS NOT NULL AND NOT (s.{column}::text = ANY(:allowed))",
        {"allowed": values, "listed": ", ".join(values)},
    )


def condition(
    ctx: MigrationContext, entity: str, column: str, code: str, message: str, where: str
) -> int:
    """A problem ``code`` on ``column`` for each valid row of ``entity`` matching ``where``
    (SQL over the alias ``s``)."""
    return ctx.problems(
        entity,
        f"SELECT line, '{column}', '{code}', :message FROM {ctx.valid(entity)} s WHERE {where}",
        {"message": message},
    )


def known_keys(ctx: MigrationContext, entity: str, key: str, stored: str | None = None) -> str:
    """SQL listing the keys of ``entity`` a reference may name: the valid rows of its file,
    the keys earlier runs mapped, and ``stored`` (a query of natural keys, e.g. serials)."""
    parts = [f"SELECT {key}::text AS key FROM {ctx.valid(entity)} k"]
    parts.append(f"SELECT external_key FROM {ctx.key_map(entity)} m")
    if stored:
        parts.append(stored)
    return " UNION ".join(parts)


def reference(ctx: MigrationContext, entity: str, column: str, keys_sql: str, what: str) -> int:
    """``reference_unknown`` for a value of ``column`` that names none of ``keys_sql``."""
    return ctx.problems(
        entity,
        f"SELECT line, '{column}', 'reference_unknown', "
        f"'no {what} ' || s.{column} || ' in the files or stored' "
        f"FROM {ctx.valid(entity)} s WHERE s.{column} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM ({keys_sql}) r WHERE r.key = s.{column}::text)",
    )


def checked_in_python(
    ctx: MigrationContext,
    entity: str,
    column: str,
    out: str,
    check: Check,
    *,
    code: str,
    separator: str | None = None,
) -> int:
    """Judge each value of ``column`` with ``check`` (each distinct value once) and store
    the normalised form in the staging column ``out``; a value ``check`` refuses is a
    problem ``code``. With ``separator``, the column holds a list ("a;b") checked item by
    item, and ``out`` gets the normalised items joined the same way."""
    add_column(ctx, entity, out, "text")
    found = rows(
        ctx, f"SELECT line, {column} FROM {ctx.valid(entity)} s WHERE s.{column} IS NOT NULL"
    )
    judged: dict[str, tuple[str | None, str | None]] = {}
    lines: list[int] = []
    values: list[str] = []
    problems: list[Problem] = []
    for line, raw in found:
        items = [i.strip() for i in raw.split(separator)] if separator else [raw.strip()]
        normal: list[str] = []
        for item in items:
            if not item:
                continue
            if item not in judged:
                judged[item] = check(item)
            value, message = judged[item]
            if value is None:
                problems.append(Problem(entity, line, column, code, f"{item!r}: {message}"))
            elif value not in normal:
                normal.append(value)
        lines.append(line)
        values.append((separator or "").join(normal))
    if lines:
        execute(
            ctx,
            f"UPDATE {ctx.staging(entity)} t SET {out} = nullif(v.value, '') "
            "FROM unnest(CAST(:lines AS bigint[]), CAST(:values AS text[])) AS v (line, value) "
            "WHERE t.line = v.line",
            {"lines": lines, "values": values},
        )
    if problems:
        ctx.add_problems(problems)
    return len(problems)


def duplicates(
    ctx: MigrationContext, entity: str, columns: str, field: str, code: str, where: str = "true"
) -> int:
    """``code`` for the second and later valid rows (matching ``where``) sharing the values
    of ``columns``."""
    return ctx.problems(
        entity,
        f"SELECT line, '{field}', '{code}', 'the same as line ' || first_line FROM ("
        f"SELECT line, min(line) OVER (PARTITION BY {columns}) AS first_line "
        f"FROM {ctx.valid(entity)} s WHERE {where}) d WHERE line > first_line",
    )


# -- writes --------------------------------------------------------------------------------


def assign_ids(
    ctx: MigrationContext, entity: str, key: str, table: str, natural: str | None = None
) -> str:
    """A temporary table ``(key, id, is_new)`` for the valid rows of ``entity``: the id the
    key map gives (when that record still exists), else the stored record whose column
    ``natural`` holds the key (a meter's serial is its own key), else a fresh id of
    ``table``'s sequence. New pairs are remembered in the key map at once."""
    name = f"migration_ids_{entity}"
    by_natural = (
        f"LEFT JOIN {table} n ON n.{natural} = s.{key}::text"
        if natural
        else "LEFT JOIN (SELECT NULL::bigint AS id) n ON false"
    )
    execute(ctx, f"DROP TABLE IF EXISTS {name}")
    execute(
        ctx,
        f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS "
        f"SELECT s.{key}::text AS key, coalesce(t.id, n.id) IS NULL AS is_new, "
        f"CASE WHEN coalesce(t.id, n.id) IS NULL "
        f"THEN nextval(pg_get_serial_sequence('{table}', 'id')) "
        "ELSE coalesce(t.id, n.id) END AS id, t.id IS NULL AS unmapped "
        f"FROM {ctx.valid(entity)} s "
        f"LEFT JOIN {ctx.key_map(entity)} m ON m.external_key = s.{key}::text "
        f"LEFT JOIN {table} t ON t.id = m.kilowatch_id {by_natural}",
    )
    execute(ctx, f"CREATE UNIQUE INDEX ON {name} (key)")
    execute(ctx, f"ANALYZE {name}")
    ctx.remember_keys(entity, f"SELECT key, id FROM {name} WHERE unmapped")
    return name


def resolved(ctx: MigrationContext, entity: str) -> str:
    """SQL of ``(key, id)``: every external key of ``entity`` mapped so far (after its
    write, the current file's rows too)."""
    return f"(SELECT external_key AS key, kilowatch_id AS id FROM {ctx.key_map(entity)} m)"


def resolve(ctx: MigrationContext, entity: str, column: str, out: str, keys_sql: str) -> None:
    """Store in the staging column ``out`` the id of the stored record that ``column``
    names through ``keys_sql`` (SQL of ``(key, id)``, e.g. :func:`resolved`; NULL for a
    record not stored yet), and refresh the staging table's statistics. A check against
    stored records then joins them on that id: row counts the planner knows on both
    sides, where a join through the key map, right after the import that filled it and
    before autovacuum analysed it, was planned as a nested loop over every stored row."""
    add_column(ctx, entity, out, "bigint")
    execute(
        ctx,
        f"UPDATE {ctx.staging(entity)} s SET {out} = r.id FROM ({keys_sql}) r "
        f"WHERE r.key = s.{column}::text",
    )
    execute(ctx, f"ANALYZE {ctx.staging(entity)}")


def restated(ctx: MigrationContext, entity: str, key: str) -> str:
    """A temporary table ``(id)`` of the stored records that rows of ``entity``'s file name
    by their key (valid or not): a check against stored records leaves those out, the file
    giving them their new values. Built once, indexed and analysed, so that the checks
    anti-join it (a hash) instead of looking the file up again per stored record."""
    name = f"migration_restated_{entity}"
    execute(ctx, f"DROP TABLE IF EXISTS {name}")
    execute(
        ctx,
        f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS SELECT DISTINCT m.id "
        f"FROM {ctx.staging(entity)} f JOIN {resolved(ctx, entity)} m ON m.key = f.{key}::text",
    )
    execute(ctx, f"CREATE UNIQUE INDEX ON {name} (id)")
    execute(ctx, f"ANALYZE {name}")
    return name


def returned_ids(ctx: MigrationContext, sql: str, params: dict[str, Any] | None = None) -> set[int]:
    """The ids an ``UPDATE ... RETURNING <id>`` (or INSERT / DELETE) touched."""
    return {int(r[0]) for r in rows(ctx, sql, params)}


def sync_positions(
    ctx: MigrationContext,
    *,
    table: str,
    parent: str,
    parents_sql: str,
    desired_sql: str,
    columns: list[str],
    order_by: str,
    on_insert: dict[str, str] | None = None,
) -> set[int]:
    """Make the child rows of ``table`` (phones, e-mails, papers of a party) match a file's
    list, position by position: ``desired_sql`` gives ``(parent, pos, <columns>)``, stored
    rows are numbered by ``order_by`` within their ``parent`` (one of ``parents_sql``).
    A changed value updates its row in place (one audit entry, not a delete and an insert);
    extra stored rows are deleted, extra file rows inserted. The parents touched."""
    stored = (
        f"(SELECT t.id, t.{parent} AS parent, "
        f"row_number() OVER (PARTITION BY t.{parent} ORDER BY {order_by}) AS pos, "
        + ", ".join(f"t.{c}" for c in columns)
        + f" FROM {table} t WHERE t.{parent} IN ({parents_sql}))"
    )
    touched = returned_ids(
        ctx,
        f"DELETE FROM {table} x USING {stored} st WHERE x.id = st.id AND NOT EXISTS "
        f"(SELECT 1 FROM {desired_sql} d WHERE d.parent = st.parent AND d.pos = st.pos) "
        f"RETURNING x.{parent}",
    )
    assignments = ", ".join(f"{c} = d.{c}" for c in columns)
    with updates_audited(ctx):
        touched |= returned_ids(
            ctx,
            f"UPDATE {table} x SET {assignments}, updated_at = now() FROM {stored} st "
            f"JOIN {desired_sql} d ON d.parent = st.parent AND d.pos = st.pos "
            f"WHERE x.id = st.id AND ({', '.join('st.' + c for c in columns)}) "
            f"IS DISTINCT FROM ({', '.join('d.' + c for c in columns)}) RETURNING x.{parent}",
        )
    extra = on_insert or {}
    names = ", ".join([parent, *columns, *extra])
    values = ", ".join(["d.parent", *(f"d.{c}" for c in columns), *extra.values()])
    added = rows(
        ctx,
        f"INSERT INTO {table} ({names}) SELECT {values} FROM {desired_sql} d "
        f"WHERE NOT EXISTS (SELECT 1 FROM {stored} st "
        f"WHERE st.parent = d.parent AND st.pos = d.pos) RETURNING {parent}",
    )
    ctx.grown(table, len(added))
    return touched | {int(r[0]) for r in added}


def upsert(
    ctx: MigrationContext,
    *,
    table: str,
    source: str,
    values: dict[str, str],
    insert_only: dict[str, str] | None = None,
) -> tuple[int, set[int]]:
    """Insert the new records and update the stored ones whose values differ, from
    ``source`` (SQL over the alias ``s``, joined to the id table ``i`` on its key) with
    ``values`` (column -> SQL expression). ``insert_only`` columns are set on insert only
    (generated codes). The number inserted and the ids updated."""
    extra = insert_only or {}
    assignments = ", ".join(f"{c} = {e}" for c, e in values.items())
    stored = ", ".join(f"x.{c}" for c in values)
    given = ", ".join(values.values())
    # Updates first: a stored record that leaves (a contract ended, a meter removed) frees
    # its place before a new one takes it.
    with updates_audited(ctx):
        updated = returned_ids(
            ctx,
            f"UPDATE {table} x SET {assignments}, updated_at = now() FROM {source} "
            f"WHERE x.id = i.id AND NOT i.is_new AND ({stored}) IS DISTINCT FROM ({given}) "
            "RETURNING x.id",
        )
    names = ", ".join(["id", *values, *extra])
    exprs = ", ".join(["i.id", *values.values(), *extra.values()])
    inserted = execute(
        ctx, f"INSERT INTO {table} ({names}) SELECT {exprs} FROM {source} WHERE i.is_new"
    )
    ctx.grown(table, inserted)
    return inserted, updated


def keys(entity: str, table: str, fallback: str) -> str:
    """SQL of ``(id, key)`` for every record of ``table``: the external key an export gives
    it, the legacy key it came in with (the key map), else ``fallback`` (SQL over the
    record ``t``: a key derived from the record itself, stable across exports, for records
    created in Kilowatch). Exports join it (a hash join: the key map is indexed by external
    key, not by Kilowatch id, so a lookup per row would scan it each time)."""
    return (
        f"(SELECT t.id, coalesce(k.key, {fallback}) AS key FROM {table} t "
        "LEFT JOIN (SELECT kilowatch_id, min(external_key) AS key FROM core_migration_key "
        f"WHERE entity = '{entity}' GROUP BY kilowatch_id) k ON k.kilowatch_id = t.id)"
    )


def counts(ctx: MigrationContext, ids: str, inserted: int, touched: set[int]) -> WriteCounts:
    """The write's counts: ``touched`` are the stored records something changed in."""
    new = {int(r[0]) for r in rows(ctx, f"SELECT id FROM {ids} WHERE is_new")}
    changed = len(touched - new)
    total = int(scalar(ctx, f"SELECT count(*) FROM {ids}"))
    return WriteCounts(inserted=inserted, updated=changed, unchanged=total - inserted - changed)


def export_rows(session: Session, query: str, key: str) -> list[dict[str, Any]]:
    """The rows of an export ``query``, in the order of their external ``key`` (byte
    order, so that two exports of one base list the same rows in the same order)."""
    ordered = f'SELECT * FROM ({query}) x ORDER BY x.{key} COLLATE "C"'
    return [dict(r._mapping) for r in session.execute(text(ordered))]
