"""Writing the format: the stored base (``run_export``), empty templates with two example
rows (``write_templates``), the rows a partial run parked (``export_parked``), and the
format's reference (``format_reference``).

Files are written canonically so an import followed by an export gives the same bytes
every time: rows sorted by external key; empty for NULL; ISO dates; timestamps in UTC
(``2024-01-31T07:00:00+00:00``); ``true``/``false``; plain decimals; CSV quoted only where
needed, ``\\n`` line ends, UTF-8 without byte-order mark.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from core.migration.models import MigrationParked
from core.migration.spec import Entity, entities

FileFormat = Literal["csv", "xlsx"]
Rows = list[list[str]]


def canonical(value: Any) -> str:
    """One stored value as the format's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def entity_rows(entity: Entity, records: Iterable[Mapping[str, Any]]) -> Rows:
    """Records as the entity's rows of text (its columns, in order), by external key."""
    names = entity.column_names
    rows = [[canonical(record.get(name)) for name in names] for record in records]
    key = names.index(entity.key)
    rows.sort(key=lambda row: row[key])
    return rows


def run_export(session: Session, target: Path, fmt: FileFormat = "csv") -> dict[str, int]:
    """Write every entity's stored records to ``target`` (a folder for CSV, a workbook
    path for XLSX); the number of rows per entity."""
    files = {e.name: (e.column_names, entity_rows(e, e.export(session))) for e in entities()}
    write_files(target, files, fmt)
    return {name: len(rows) for name, (_, rows) in files.items()}


def template_files() -> dict[str, tuple[list[str], Rows]]:
    """Each entity's header and its two example rows."""
    return {
        e.name: (e.column_names, [[c.examples[i] for c in e.columns] for i in (0, 1)])
        for e in entities()
    }


def write_templates(target: Path, fmt: FileFormat = "csv") -> list[str]:
    """Each entity's file with its header and its two example rows; the entity names."""
    files = template_files()
    write_files(target, files, fmt)
    return list(files)


def templates_zip() -> bytes:
    """The templates as a zip of CSV files, with the format's reference (FORMAT.md)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (header, rows) in template_files().items():
            archive.writestr(f"{name}.csv", csv_text(header, rows))
        archive.writestr("FORMAT.md", format_reference())
    return out.getvalue()


def export_parked(session: Session, run_id: int, target: Path, fmt: FileFormat = "csv") -> int:
    """The rows run ``run_id`` parked, as files of the format (their text as it was read,
    a line per row, by entity): corrected and imported again, they go in like any other
    rows (what was loaded already stays, matched by its external key). The number of
    rows written."""
    from core.migration.service import parked_rows

    by_entity: dict[str, list[MigrationParked]] = {}
    for row in parked_rows(session, run_id):
        by_entity.setdefault(row.entity, []).append(row)
    known = {e.name: e for e in entities()}
    files: dict[str, tuple[list[str], Rows]] = {}
    for name, parked in by_entity.items():
        entity = known.get(name)
        columns = entity.column_names if entity else sorted({k for p in parked for k in p.data})
        files[name] = (columns, [[p.data.get(c, "") for c in columns] for p in parked])
    write_files(target, files, fmt)
    return sum(len(rows) for _, rows in files.values())


# -- files ---------------------------------------------------------------------------------


def csv_text(header: Sequence[str], rows: Rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_files(
    target: Path, files: Mapping[str, tuple[Sequence[str], Rows]], fmt: FileFormat
) -> None:
    """``{entity: (header, rows)}`` as ``<entity>.csv`` files in the folder ``target``,
    or as the sheets of the workbook ``target``."""
    if fmt == "csv":
        target.mkdir(parents=True, exist_ok=True)
        for name, (header, rows) in files.items():
            (target / f"{name}.csv").write_text(csv_text(header, rows), encoding="utf-8")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(workbook_bytes(files))


def workbook_bytes(files: Mapping[str, tuple[Sequence[str], Rows]]) -> bytes:
    """An XLSX workbook, a sheet per entity, every cell text (so nothing is re-typed by
    the spreadsheet: a meter serial "007" stays "007")."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, (header, rows) in files.items():
        sheet = book.create_sheet(title=name)
        sheet.append(list(header))
        for row in rows:
            sheet.append([value if value != "" else None for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- the reference -------------------------------------------------------------------------


def format_reference() -> str:
    """The format as Markdown: a table per entity (column, type, required, what it holds),
    from the registry."""
    parts = [
        "# The Kilowatch data-migration format",
        "",
        "One CSV file `<entity>.csv` (UTF-8, comma, header on line 1) or one XLSX sheet "
        "named `<entity>` per entity below, in any subset (a missing file is empty). "
        "Dates are `YYYY-MM-DD`, timestamps ISO 8601 with their zone, decimals use a point, "
        "booleans `true`/`false`. Generated by `kilowatch migrate formats` "
        "(`kilowatch migrate formats > core/migration/FORMAT.md`).",
    ]
    for entity in entities():
        parts += ["", f"## `{entity.name}`: {entity.title}", ""]
        if entity.doc.strip():
            parts += [entity.doc.strip().replace("``", "`"), ""]
        parts.append(f"External key: `{entity.key}`.")
        if entity.depends_on:
            parts.append("References: " + ", ".join(f"`{d}`" for d in entity.depends_on) + ".")
        parts += ["", "| column | type | required | description |", "|---|---|---|---|"]
        for column in entity.columns:
            doc = column.doc.replace("|", "\\|").replace("\n", " ")
            required = "yes" if column.required else ""
            parts.append(f"| `{column.name}` | {column.type} | {required} | {doc} |")
    return "\n".join(parts) + "\n"
