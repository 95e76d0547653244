"""Closed vocabularies of revenue protection (stored as text, validated here)."""

from __future__ import annotations

from enum import StrEnum


class CaseSource(StrEnum):
    """Where an NTL case came from."""

    FRAUD_FLAG = "fraud_flag"  # an analyst sent a flag to inspection
    SEAL_ANOMALY = "seal_anomaly"  # a seal found broken, missing or foreign on a visit
    FIELD_TIP = "field_tip"  # a technician or a neighbour told us
    MANUAL = "manual"  # raised at the office


class CaseStatus(StrEnum):
    OPEN = "open"
    INSPECTING = "inspecting"  # an inspection order is with the field
    INSPECTED = "inspected"  # findings recorded
    ASSESSED = "assessed"  # the unbilled energy and the penalty are worked out
    BILLED = "billed"  # the back-bill is issued
    CONTESTED = "contested"  # the customer disputes the back-bill
    CLOSED = "closed"  # recovered energy and revenue recorded, label sent to fraud
    DISMISSED = "dismissed"  # nothing irregular found (label no_fraud when inspected)


OPEN_CASE_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.INSPECTING,
    CaseStatus.INSPECTED,
    CaseStatus.ASSESSED,
    CaseStatus.BILLED,
    CaseStatus.CONTESTED,
)


class CaseEvent(StrEnum):
    ORDER_INSPECTION = "order_inspection"
    RECORD_FINDINGS = "record_findings"
    ASSESS = "assess"
    BILL = "bill"
    CONTEST = "contest"
    UPHOLD = "uphold"  # the contestation is rejected: the back-bill stands
    REVISE = "revise"  # the contestation is accepted: back-bill credited, assess again
    CLOSE = "close"
    DISMISS = "dismiss"


class Irregularity(StrEnum):
    """What the inspection found (the kind of the label fraud detection learns from)."""

    NONE = "none"  # nothing wrong
    BYPASS = "bypass"  # a cable around the meter
    METER_TAMPERED = "meter_tampered"  # opened, magnet, stopped dial
    ILLEGAL_CONNECTION = "illegal_connection"  # a connection without contract
    SEAL_BROKEN = "seal_broken"  # seals broken, no tampering proven
    METER_FAULTY = "meter_faulty"  # a fault, not a theft (irregularity)
    WRONG_MULTIPLIER = "wrong_multiplier"  # a billing data error (irregularity)

    @property
    def is_fraud(self) -> bool:
        return self in (
            Irregularity.BYPASS,
            Irregularity.METER_TAMPERED,
            Irregularity.ILLEGAL_CONNECTION,
        )


class AssessmentMethod(StrEnum):
    """Ways of estimating what the customer really consumed per month (the rule set lists
    them in the regulator's order: the first that applies is used)."""

    CORRECTED_MEASUREMENT = "corrected_measurement"  # metered after repair
    HIGHEST_NORMAL_MONTH = "highest_normal_month"  # before the irregularity
    AVERAGE_HIGHEST_MONTHS = "average_highest_months"  # mean of the N highest normal months
    CONNECTED_LOAD = "connected_load"  # load found x load factor x hours
