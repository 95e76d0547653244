"""Closed vocabularies of the meter domain (stored as text, validated here)."""

from __future__ import annotations

from enum import StrEnum


class MeterType(StrEnum):
    POSTPAID = "postpaid"
    PREPAID = "prepaid"
    SMART = "smart"


class MeterStatus(StrEnum):
    IN_STOCK = "in_stock"
    INSTALLED = "installed"
    REMOVED = "removed"  # back from the field, waiting for test / re-stock or scrapping
    SCRAPPED = "scrapped"


class RegisterCode(StrEnum):
    """What a register accumulates: a single-rate meter has ``total``; a time-of-use meter
    has ``peak`` and ``off_peak`` (and often ``total`` as well)."""

    TOTAL = "total"
    PEAK = "peak"
    OFF_PEAK = "off_peak"


class RegisterSet(StrEnum):
    """Which role an installed meter plays at a usage point: a usage point has at most one
    active meter per register set (the main meter, an export meter for a producer, a check
    meter fitted during a fraud investigation)."""

    MAIN = "main"
    EXPORT = "export"
    CHECK = "check"


class ReadingSource(StrEnum):
    HANDHELD = "handheld"
    SELF_READ = "self_read"
    AMI = "ami"
    ESTIMATED = "estimated"


class ReadingQuality(StrEnum):
    """What the reader (or the head-end) says about the read itself."""

    ACTUAL = "actual"
    DOUBTFUL = "doubtful"  # dial hard to read, dirty glass, reader unsure
    ESTIMATED = "estimated"


class ReadingStatus(StrEnum):
    ACCEPTED = "accepted"
    FLAGGED = "flagged"  # counts for consumption, but someone should look at it
    REJECTED = "rejected"  # stored with its codes, never counted
    SUPERSEDED = "superseded"  # an estimate replaced by a real read for its period


# Reads that count for consumption.
COUNTED_STATUSES = (ReadingStatus.ACCEPTED, ReadingStatus.FLAGGED)


class ReasonCode(StrEnum):
    """Stable codes explaining why a read was flagged or rejected. Clients branch on them.

    Declared in the order a read lists them (the checks of the read alone first, then the
    ones against its timeline); the bulk pipeline numbers them by this order
    (``meters.readings.codes``), so add a new code anywhere: nothing is numbered by hand."""

    READ_IN_FUTURE = "read_in_future"
    READ_BEFORE_INSTALLATION = "read_before_installation"
    READ_AFTER_REMOVAL = "read_after_removal"
    VALUE_EXCEEDS_DIALS = "value_exceeds_dials"
    DUPLICATE_TIMESTAMP = "duplicate_timestamp"
    ROLLOVER = "rollover"
    NEGATIVE_ADVANCE = "negative_advance"
    ZERO_CONSUMPTION = "zero_consumption"
    OUT_OF_RANGE_HIGH = "out_of_range_high"
    OUT_OF_RANGE_LOW = "out_of_range_low"
    METER_CHANGE_IN_PERIOD = "meter_change_in_period"


class Severity(StrEnum):
    """What a reason code does to a read's status (configured per rule-set version)."""

    INFO = "info"  # recorded, status stays accepted
    FLAG = "flag"
    REJECT = "reject"


class EstimationMethod(StrEnum):
    SEASONAL_HISTORY = "seasonal_history"  # same period last year x recent trend
    RECENT_HISTORY = "recent_history"  # mean daily consumption of the last reads
    CATEGORY_PROFILE = "category_profile"  # kWh/day of the usage point's category
