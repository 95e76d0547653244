"""Staging: each entity's file typed column by column (Arrow compute, all rows at once) and
COPYed into its temporary table, of the shape ``core.migration.context`` documents.

A value that does not convert becomes NULL and is reported ``invalid_<type>``; an empty
required value ``missing_required``; an external key found again lower in the same file
``duplicate_key`` (the first occurrence stays). Those rows are staged with ``ok`` false.
Values are trimmed of surrounding spaces; an empty value is NULL.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import copy_arrow, drop_tables
from core.migration.context import Problem
from core.migration.source import SourceFile
from core.migration.spec import Column, ColumnType, Entity

SQL_TYPES: dict[ColumnType, str] = {
    "text": "text",
    "integer": "bigint",
    "decimal": "numeric",
    "float": "double precision",
    "date": "date",
    "timestamp": "timestamptz",
    "boolean": "boolean",
}

_INTEGER = r"^[+-]?[0-9]{1,18}$"
_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"
_FLOAT = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
)
TRUE_WORDS = ["true", "t", "yes", "y", "1", "oui", "vrai"]
FALSE_WORDS = ["false", "f", "no", "n", "0", "non", "faux"]
WHAT: dict[ColumnType, str] = {
    "integer": "a whole number",
    "decimal": "a decimal number (point as separator)",
    "float": "a number",
    "date": "a date YYYY-MM-DD",
    "timestamp": "a date and time with its zone (ISO 8601, e.g. 2024-01-31T08:00:00+01:00)",
    "boolean": "true or false",
}


def staging_name(entity: str) -> str:
    return f"mig_stage_{entity}"


def create_staging(session: Session, entity: Entity) -> str:
    """The entity's empty staging table: a temporary table kept across commits (a run
    committing entity by entity writes from it after the first commit), dropped when
    the run finishes (``ImportRun.finish``, ``core.migration.runner``)."""
    name = staging_name(entity.name)
    drop_tables(session, name)  # a second run in the same transaction starts afresh
    columns = ", ".join(f"{c.name} {SQL_TYPES[c.type]}" for c in entity.columns)
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE {name} (line bigint PRIMARY KEY, {columns}, "
            "raw jsonb NOT NULL, ok boolean NOT NULL DEFAULT true) ON COMMIT PRESERVE ROWS"
        )
    )
    return name


def stage_file(session: Session, entity: Entity, read: SourceFile | None) -> list[Problem]:
    """Create the entity's staging table and fill it from ``read`` (none: left empty);
    the problems typing found."""
    name = create_staging(session, entity)
    if read is None or read.rows == 0:
        return []
    typed, problems = type_file(entity, read)
    copy_arrow(session, name, typed)
    session.execute(text(f"ANALYZE {name}"))
    return problems


def type_file(entity: Entity, read: SourceFile) -> tuple[pa.Table, list[Problem]]:
    """The staging rows of ``read`` as an Arrow table (``line``, the typed columns, ``raw``
    as JSON text, ``ok``) and the problems found."""
    problems: list[Problem] = []
    bad = pa.array([False] * read.rows, pa.bool_())
    out: dict[str, pa.Array] = {"line": read.lines}
    for column in entity.columns:
        if column.name not in read.table.column_names:
            out[column.name] = pa.nulls(read.rows, _arrow_type(column.type))
            if column.required:  # reported once as missing_column; every row is unusable
                bad = pa.array([True] * read.rows, pa.bool_())
            continue
        original = read.table.column(column.name).combine_chunks()
        value = pc.utf8_trim_whitespace(original)
        empty = pc.equal(pc.utf8_length(value), 0)
        value = pc.if_else(empty, pa.scalar(None, pa.string()), value)
        typed = convert(column.type, value)
        failed = pc.and_(pc.invert(empty), pc.is_null(typed))
        problems += _found(
            entity.name, read.lines, failed, column, f"invalid_{column.type}", original
        )
        bad = pc.or_(bad, failed)
        if column.required:
            problems += _found(entity.name, read.lines, empty, column, "missing_required")
            bad = pc.or_(bad, empty)
        out[column.name] = typed
    key = out[entity.key]
    duplicate = _later_duplicates(key)
    key_column = next(c for c in entity.columns if c.name == entity.key)
    problems += _found(entity.name, read.lines, duplicate, key_column, "duplicate_key", key)
    bad = pc.or_(bad, duplicate)
    out["raw"] = raw_json(read.table)
    out["ok"] = pc.invert(bad)
    return pa.table(out), problems


# -- conversions ---------------------------------------------------------------------------


def _arrow_type(kind: ColumnType) -> pa.DataType:
    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "boolean": pa.bool_(),
    }.get(kind, pa.string())


def convert(kind: ColumnType, value: pa.Array) -> pa.Array:
    """``value`` (trimmed strings, NULL when empty) typed as ``kind``; NULL where the text
    does not convert. Decimals stay text (checked here, converted exactly by PostgreSQL)."""
    converters: dict[ColumnType, Callable[[pa.Array], pa.Array]] = {
        "text": lambda v: v,
        "integer": lambda v: pc.cast(_matching(v, _INTEGER), pa.int64()),
        "decimal": lambda v: _matching(v, _DECIMAL),
        "float": lambda v: pc.cast(_matching(v, _FLOAT), pa.float64()),
        "date": _dates,
        "timestamp": _timestamps,
        "boolean": _booleans,
    }
    return converters[kind](value)


def _matching(value: pa.Array, pattern: str) -> pa.Array:
    return pc.if_else(pc.match_substring_regex(value, pattern), value, None)


def _dates(value: pa.Array) -> pa.Array:
    shaped = _matching(value, _DATE)
    parsed = pc.strptime(shaped, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2024-02-30 over to March: only a date that prints back as written is.
    exact = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), shaped)
    return pc.cast(pc.if_else(exact, parsed, None), pa.date32())


def _timestamps(value: pa.Array) -> pa.Array:
    shaped = _matching(value, _TIMESTAMP)
    target = pa.timestamp("us", tz="UTC")
    try:
        return pc.cast(shaped, target)
    except pa.ArrowInvalid:  # a well-shaped impossible value (month 13): one by one
        out = []
        for item in shaped.to_pylist():
            try:
                out.append(pc.cast(pa.array([item], pa.string()), target)[0].as_py())
            except pa.ArrowInvalid:
                out.append(None)
        return pa.array(out, target)


def _booleans(value: pa.Array) -> pa.Array:
    lowered = pc.utf8_lower(value)
    yes = pc.is_in(lowered, value_set=pa.array(TRUE_WORDS))
    no = pc.is_in(lowered, value_set=pa.array(FALSE_WORDS))
    return pc.if_else(pc.or_(yes, no), yes, None)


def _later_duplicates(key: pa.Array) -> pa.Array:
    """True for each non-null key already seen higher in the file."""
    table = pa.table({"k": key, "i": pa.array(range(len(key)), pa.int64())})
    firsts = table.group_by("k", use_threads=False).aggregate([("i", "min")])
    first_of = pc.index_in(key, value_set=firsts.column("k"))
    first_index = pc.take(firsts.column("i_min"), first_of)
    later = pc.and_(pc.greater(table.column("i"), first_index), pc.is_valid(key))
    return pc.fill_null(later, False).combine_chunks()


def _found(
    entity: str,
    lines: pa.Array,
    mask: pa.Array,
    column: Column,
    code: str,
    shown: pa.Array | None = None,
) -> list[Problem]:
    if not pc.any(mask).as_py():
        return []
    where = pc.filter(lines, mask).to_pylist()
    values = pc.filter(shown, mask).to_pylist() if shown is not None else [None] * len(where)
    return [
        Problem(entity, line, column.name, code, _message(column, code, value))
        for line, value in zip(where, values, strict=True)
    ]


def _message(column: Column, code: str, value: object) -> str:
    if code == "missing_required":
        return f"{column.name} is required"
    if code == "duplicate_key":
        return f"{column.name} {value!r} appears higher in the file already"
    return f"{value!r} is not {WHAT.get(column.type, column.type)}"


# -- the raw row -----------------------------------------------------------------------------

_CONTROL = [chr(c) for c in range(0x20) if chr(c) not in "\n\r\t"]


def json_string(value: pa.Array) -> pa.Array:
    """Each string as a JSON string literal (quoted and escaped), computed column-wise."""
    out = value
    # Most columns hold nothing to escape: one scan decides.
    if pc.any(pc.match_substring_regex(value, r'[\\"\x00-\x1f]')).as_py():
        out = pc.replace_substring(out, "\\", "\\\\")
        for char, escaped in (('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
            out = pc.replace_substring(out, char, escaped)
        for char in _CONTROL:
            out = pc.replace_substring(out, char, f"\\u{ord(char):04x}")
    return pc.binary_join_element_wise('"', out, '"', "")


def raw_json(table: pa.Table) -> pa.Array:
    """Each row's text as a JSON object ``{"column": "text", ...}`` (JSON text)."""
    if table.num_columns == 0:
        return pa.array(["{}"] * table.num_rows, pa.string())
    parts: list[pa.Array | str] = []
    for index, name in enumerate(table.column_names):
        prefix = ("{" if index == 0 else ",") + json_string(pa.array([name]))[0].as_py() + ":"
        parts += [prefix, json_string(table.column(name).combine_chunks())]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")
