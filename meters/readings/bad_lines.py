"""A refused load's bad lines: each with its line number, a stable code and a message in
the file's own words; listed by the stage that finds them (parse, resolve)."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import FieldError
from meters.readings import bounds
from meters.readings import errors as e
from meters.readings.codes import FILE_QUALITIES, FILE_SOURCES

MAX_LISTED_LINES = 1000


@dataclass(frozen=True)
class BadLine:
    line: int
    code: str
    message: str


MESSAGES = {
    e.SERIAL_REQUIRED: "serial is required",
    e.READ_AT_FORMAT: "read_at must be an ISO 8601 timestamp with a UTC offset",
    e.READ_AT_INVALID: "read_at is not a real date and time",
    e.READ_AT_OUT_OF_BOUNDS: bounds.message(),
    e.VALUE_INVALID: "value must be a non-negative number (at most 3 decimals)",
    e.SOURCE_INVALID: f"source must be one of {', '.join(FILE_SOURCES.values)}",
    e.QUALITY_INVALID: f"quality must be {' or '.join(FILE_QUALITIES.values)}",
    e.READER_ID_INVALID: "reader_id must be a user id",
    e.GPS_INCOMPLETE: "latitude and longitude go together",
    e.GPS_INVALID: "latitude/longitude must be WGS84 degrees",
    e.PHOTO_INVALID: "photo_sha256 must be 64 lowercase hex digits",
    e.UNKNOWN_SERIAL: "unknown meter serial {serial}",
    e.UNKNOWN_REGISTER: "meter {serial} has no register {register}",
}


def raise_bad_lines(bad: list[BadLine], total: int) -> None:
    listed = bad[:MAX_LISTED_LINES]
    raise e.ReadingImportInvalidError(
        f"{total} line(s) cannot be imported; nothing was imported",
        errors=[FieldError(f"line {b.line}", b.message, b.code) for b in listed],
        extra={
            "bad_line_count": total,
            "bad_lines": [{"line": b.line, "code": b.code, "message": b.message} for b in listed],
        },
    )
