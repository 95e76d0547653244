"""Vocabularies of the network model."""

from __future__ import annotations

from enum import StrEnum


class LocationPrecision(StrEnum):
    """How a position was obtained: surveyed in the field, or derived (e.g. placed at the
    transformer because the source had no coordinates)."""

    SURVEYED = "surveyed"
    DERIVED = "derived"


class VoltageLevel(StrEnum):
    MV = "mv"
    LV = "lv"


class SegmentKind(StrEnum):
    OVERHEAD = "overhead"
    UNDERGROUND = "underground"
    SERVICE_DROP = "service_drop"  # the LV line from the network to one connection
    REGULATOR = "regulator"  # a voltage regulator: conducts like a segment, has no length
    UNKNOWN = "unknown"


class SwitchKind(StrEnum):
    BREAKER = "breaker"
    RECLOSER = "recloser"
    DISCONNECTOR = "disconnector"
    LOAD_BREAK = "load_break"
    FUSE = "fuse"


class ServicePointKind(StrEnum):
    POLE = "pole"
    CABINET = "cabinet"
    CONNECTION = "connection"  # an LV consumer connection (where a customer is supplied)
    MV_CONNECTION = "mv_connection"  # a consumer supplied at medium voltage
    PUBLIC_LIGHTING = "public_lighting"
    GENERATION = "generation"  # distributed generation (PV)
