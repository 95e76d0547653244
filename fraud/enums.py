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


class ModelKind(StrEnum):
    """The detectors of the model registry (``fraud.scoring``)."""

    ISOLATION_FOREST = "isolation_forest"  # unsupervised, over every usage point
    LOCAL_OUTLIER_FACTOR = "local_outlier_factor"  # unsupervised, within each transformer zone
    GRADIENT_BOOSTING = "gradient_boosting"  # supervised, on inspection outcomes (labels)


class FlagStatus(StrEnum):
    NEW = "new"
    REVIEWING = "reviewing"
    SENT_TO_INSPECTION = "sent_to_inspection"
    CONFIRMED = "confirmed"  # the inspection found a fraud or an irregularity
    DISMISSED = "dismissed"  # nothing wrong (after review or after inspection)


class FlagSource(StrEnum):
    RANKING = "ranking"  # selected by priority under the inspection budget
    AUDIT = "audit"  # drawn at random to keep the hit rate unbiased
    TIP = "tip"  # raised by hand (a tip, a meter reader's note)


class LabelOutcome(StrEnum):
    FRAUD = "fraud"
    IRREGULARITY = "irregularity"  # a fault or an error, not theft: energy lost all the same
    NO_FRAUD = "no_fraud"


class FlagEvent(StrEnum):
    """The steps of the flag lifecycle (``fraud.machines.FlagLifecycle``)."""

    REVIEW = "review"
    REQUEUE = "requeue"
    SEND_TO_INSPECTION = "send_to_inspection"
    CONFIRM = "confirm"
    DISMISS = "dismiss"
