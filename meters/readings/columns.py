"""The reading file: its columns, the header check and the shape of each field (one
definition for the fast Arrow typing and the exhaustive SQL typing)."""

from __future__ import annotations

import csv
from collections.abc import Callable

from core.errors import FieldError
from meters.readings.errors import BAD_HEADER, ReadingImportInvalidError

CSV_COLUMNS = (
    "serial",
    "register",
    "read_at",
    "value",
    "source",
    "quality",
    "reader_id",
    "latitude",
    "longitude",
    "photo_sha256",
)
REQUIRED_COLUMNS = ("serial", "read_at", "value", "source")

TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
VALUE_RE = r"^\d{1,13}(\.\d{1,3})?$"
COORD_RE = r"^-?\d{1,3}(\.\d{1,12})?$"
READER_RE = r"^[0-9]{1,18}$"
PHOTO_RE = r"^[0-9a-f]{64}$"

# (stage, done, total): how far a load is, for progress bars.
ProgressCallback = Callable[[str, int, int], None]


def read_header(first_line: str) -> list[str]:
    """The column names of a reading file's header line, or the load refused (line 1)."""
    header = [h.strip().lower() for h in next(csv.reader([first_line]), [])]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if duplicated:
        problems.append(f"repeated column(s): {', '.join(duplicated)}")
    if problems:
        raise ReadingImportInvalidError(
            "the header line is not a reading file header",
            errors=[FieldError("line 1", "; ".join(problems), BAD_HEADER)],
            extra={"expected_columns": list(CSV_COLUMNS)},
        )
    return header
