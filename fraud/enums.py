"""Vocabularies of the fraud domain."""

from __future__ import annotations

from enum import StrEnum


class ZoneKind(StrEnum):
    TRANSFORMER = "transformer"  # a distribution transformer's LV zone
    FEEDER = "feeder"  # a whole MV feeder, from its head


class LossMethod(StrEnum):
    OPENDSS = "opendss"  # interpolated from load flows of the zone's real network model
    LOAD_LENGTH = "load_length"  # no-load + k x length x load², calibrated on load flows


class NotAnalysableReason(StrEnum):
    """Why a zone's balance for a month cannot be trusted (``ZoneBalance.reason``)."""

    NO_ZONE_METER = "no_zone_meter"  # no zone meter fitted during the month
    ZONE_METER_READS_MISSING = "zone_meter_reads_missing"  # reads do not span the month
    NO_METERED_USAGE_POINTS = "no_metered_usage_points"  # nobody metered downstream
    TOO_MANY_UNREAD = "too_many_unread"  # too many usage points with no read for the month
    TOO_MANY_ESTIMATES = "too_many_estimates"  # too much of the metered energy is estimated
    TOPOLOGY_STALE = "topology_stale"  # the feeder awaits a re-trace: membership unknown
