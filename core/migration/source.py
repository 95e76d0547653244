"""Reading a legacy base: a folder of ``<entity>.csv`` files, one XLSX workbook with a sheet
per entity, or a zip of either (what the web upload sends).

Every value is read as the text it is (numbers and dates typed later, all at once, by
``core.migration.staging``): a file becomes an Arrow table of strings, plus the number of
each record's line. Line 1 is the header; a record's line is its place in the file (a
quoted value spanning several lines still counts as one line). CSV files are UTF-8, with or
without a byte-order mark, comma-separated, double-quoted.

What cannot be read is reported, not guessed: a file or sheet naming no entity
(``unknown_file``), a column the entity does not have (``unknown_column``), a required
column absent (``missing_column``), a column named twice (``duplicate_column``), a file
that is not UTF-8 CSV (``unreadable_file``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv

from core.migration.context import Problem
from core.migration.spec import Entity, entities


@dataclass
class SourceFile:
    """One entity's file as text: ``table`` holds a string column per header name (an
    empty cell is an empty string), ``lines`` each record's line number."""

    entity: str
    table: pa.Table
    lines: pa.Array

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)


@dataclass
class Source:
    """What was read: the files by entity, the problems of reading, the source's name."""

    name: str
    files: dict[str, SourceFile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_source(path: Path) -> Source:
    """Read a folder of CSV files, an XLSX workbook, or a zip holding either."""
    if path.is_dir():
        return _checked(path.name, {p.stem: _read_csv_path(p) for p in sorted(path.glob("*.csv"))})
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _checked(path.name, _read_workbook(path.read_bytes()))
    if suffix == ".zip":
        return _checked(path.name, _read_zip(path))
    if suffix == ".csv":  # one file alone: the entity its name says
        return _checked(path.name, {path.stem: _read_csv_path(path)})
    raise ValueError(f"{path}: not a folder of CSV files, an .xlsx workbook or a .zip")


# -- CSV -----------------------------------------------------------------------------------

Read = tuple[list[str], pa.Table, pa.Array] | str  # header, strings, lines; or why not


def _read_csv_path(path: Path) -> Read:
    return _read_csv(path.read_bytes())


def _read_csv(data: bytes) -> Read:
    try:
        first = data.split(b"\n", 1)[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        return "the header is not UTF-8 text"
    header = [name.strip() for name in next(csv.reader([first]), [])]
    if not header or header == [""]:
        return "no header line"
    if len(set(header)) < len(header):
        return f"a column is named twice in the header: {header}"
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(
                column_names=header, skip_rows=1, block_size=1 << 24, encoding="utf8"
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        return str(error).splitlines()[0]
    lines = pa.array(range(2, table.num_rows + 2), pa.int64())
    return header, table, lines


# -- XLSX ----------------------------------------------------------------------------------


def _read_workbook(data: bytes) -> dict[str, Read]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        return {"workbook": f"not a readable XLSX workbook: {error}"}
    found: dict[str, Read] = {}
    try:
        for sheet in book.worksheets:
            found[sheet.title.strip()] = _read_sheet(sheet.iter_rows(values_only=True))
    finally:
        book.close()
    return found


def _read_sheet(rows: Any) -> Read:
    header: list[str] | None = None
    columns: list[list[str]] = []
    lines: list[int] = []
    for number, row in enumerate(rows, start=1):
        cells = [cell_text(v) for v in row]
        if header is None:
            header = [c.strip() for c in cells]
            while header and header[-1] == "":
                header.pop()
            if not header:
                return "no header row"
            if len(set(header)) < len(header):
                return f"a column is named twice in the header: {header}"
            columns = [[] for _ in header]
            continue
        if not any(c.strip() for c in cells):
            continue  # an empty row (sheets often end with some)
        cells += [""] * (len(header) - len(cells))
        for column, value in zip(columns, cells, strict=False):
            column.append(value)
        lines.append(number)
    if header is None:
        return "an empty sheet"
    table = pa.table(
        {name: pa.array(col, pa.string()) for name, col in zip(header, columns, strict=True)}
    )
    return header, table, pa.array(lines, pa.int64())


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV file would hold (the format's canonical forms:
    ISO dates, plain numbers, true/false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


# -- zip -----------------------------------------------------------------------------------


def _read_zip(path: Path) -> dict[str, Read]:
    found: dict[str, Read] = {}
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return {"archive": "not a readable zip archive"}
    with archive:
        for info in archive.infolist():
            name = Path(info.filename)
            if info.is_dir() or name.name.startswith(("~", ".")) or "__MACOSX" in name.parts:
                continue
            if name.suffix.lower() in (".md", ".txt"):
                continue  # the reference the templates come with, notes
            data = archive.read(info)
            if name.suffix.lower() == ".xlsx":
                found.update(_read_workbook(data))
            elif name.suffix.lower() == ".csv":
                found[name.stem] = _read_csv(data)
            else:
                found[name.name] = "neither a .csv file nor an .xlsx workbook"
    return found


# -- checking the read files against the format --------------------------------------------


def _checked(name: str, read: dict[str, Read]) -> Source:
    source = Source(name)
    known = {e.name: e for e in entities()}
    for stem, result in read.items():
        entity = known.get(stem)
        if entity is None:
            source.problems.append(
                Problem(stem, 1, "", "unknown_file", f"{stem}: no entity of the format")
            )
            continue
        if isinstance(result, str):
            source.problems.append(Problem(stem, 1, "", "unreadable_file", result))
            continue
        header, table, lines = result
        source.problems.extend(_header_problems(entity, header))
        source.files[stem] = SourceFile(stem, table, lines)
    return source


def _header_problems(entity: Entity, header: list[str]) -> list[Problem]:
    problems = [
        Problem(entity.name, 1, name, "unknown_column", f"{entity.name} has no column {name!r}")
        for name in header
        if name not in entity.column_names
    ]
    problems += [
        Problem(entity.name, 1, c.name, "missing_column", f"required column {c.name!r} absent")
        for c in entity.columns
        if c.required and c.name not in header
    ]
    return problems
