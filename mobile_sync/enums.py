"""Closed vocabularies of the sync protocol (stored as text, validated here). Clients branch
on these values: add, never rename."""

from __future__ import annotations

from enum import StrEnum


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class RecordKind(StrEnum):
    """What a pushed record is."""

    READING = "reading"
    SKIP = "skip"
    WORK_ORDER_OUTCOME = "work_order_outcome"
    SEAL_EVENT = "seal_event"


class ReceiptStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # the same UUID again: the original receipt rides along
    CONFLICT = "conflict"  # kept in the conflict queue for the office
    REJECTED = "rejected"  # with a stable code; the device may drop it


class ChangeKind(StrEnum):
    """What a pulled change is."""

    ROUND_ITEM = "round_item"
    WORK_ORDER = "work_order"
    SEAL = "seal"


class Flag(StrEnum):
    """Why the office should look twice at an applied record (stored with it)."""

    FAR_FROM_METER = "far_from_meter"  # GPS more than 30 m from the meter's premises
    POOR_GPS_ACCURACY = "poor_gps_accuracy"  # accuracy worse than 25 m
    SERIAL_MISMATCH = "serial_mismatch"  # the scanned serial is not the expected one
    NO_GPS = "no_gps"  # no GPS point at all: distance cannot be checked
    DEVICE_CLOCK_CORRECTED = "device_clock_corrected"  # captured_at shifted by the offset
    STALE_BASE_VERSION = "stale_base_version"  # an observation on changed master data
    READING_FLAGGED = "reading_flagged"  # validation flagged the read (codes in detail)
    READING_REJECTED = "reading_rejected"  # validation rejected the read (kept, not counted)
    SAME_READING_STORED = "same_reading_stored"  # another record already stored this read


class ConflictStatus(StrEnum):
    OPEN = "open"
    APPLIED = "applied"
    DISCARDED = "discarded"


class ConflictAction(StrEnum):
    APPLY = "apply"  # apply the record as the device sent it, over the office's change
    DISCARD = "discard"  # keep the office's master data; the record stays in the log


# Thresholds of the flags (metres, in the deployment's projected CRS).
FAR_FROM_METER_M = 30.0
POOR_ACCURACY_M = 25.0
# A device clock this far from the server's (seconds) is corrected, and flagged.
CLOCK_TOLERANCE_S = 120.0
