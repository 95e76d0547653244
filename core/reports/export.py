"""A report table as CSV or XLSX (openpyxl): the same rows, then the totals row."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from core.reports.catalogue import ReportTable

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _rows(table: ReportTable) -> list[list[Any]]:
    rows: list[list[Any]] = [[c.label for c in table.columns]]
    rows += [[r.get(c.key) for c in table.columns] for r in table.rows]
    totals = table.totals
    if totals:
        rows.append(
            [totals.get(c.key, "Total" if i == 0 else None) for i, c in enumerate(table.columns)]
        )
    return rows


def to_csv(table: ReportTable) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in _rows(table):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def to_xlsx(table: ReportTable, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in _rows(table):
        # Exact decimals as numbers the spreadsheet can sum (kWh, rates).
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(table: ReportTable, fmt: str, title: str) -> bytes:
    return to_csv(table) if fmt == "csv" else to_xlsx(table, title)
