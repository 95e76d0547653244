"""Errors of the reading pipeline, and the stable codes naming each bad line of a load."""

from __future__ import annotations

from core.errors import EntityConflictError, InputInvalidError
from meters.errors import ReadingImportInvalidError

__all__ = ["ReadingImportInvalidError"]

# Codes of a bad line (``FieldError.code`` in a refused load), one per check.
BAD_HEADER = "bad_header"
BAD_STRUCTURE = "bad_line"  # a line CSV cannot split into the header's fields
SERIAL_REQUIRED = "serial_required"
READ_AT_FORMAT = "read_at_format"
READ_AT_INVALID = "read_at_invalid"
READ_AT_OUT_OF_BOUNDS = "read_at_out_of_bounds"
VALUE_INVALID = "value_invalid"
SOURCE_INVALID = "source_invalid"
QUALITY_INVALID = "quality_invalid"
READER_ID_INVALID = "reader_id_invalid"
GPS_INCOMPLETE = "gps_incomplete"
GPS_INVALID = "gps_invalid"
PHOTO_INVALID = "photo_invalid"
UNKNOWN_SERIAL = "unknown_serial"
UNKNOWN_REGISTER = "unknown_register"
UNKNOWN_READER = "unknown_reader"
OUTSIDE_TERRITORY = "outside_territory"


class ReadingDateOutOfBoundsError(InputInvalidError):
    """A read dated before 1970 or more than a day ahead: refused before anything (a
    partition above all) is created for it."""

    code = READ_AT_OUT_OF_BOUNDS


class ReadingImportConflictError(EntityConflictError):
    """Another load stored some of these reads while this one ran; nothing of this one was
    stored. Importing again adds what is still missing."""

    code = "reading_import_conflict"
