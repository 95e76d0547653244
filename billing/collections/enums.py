"""The closed vocabularies of collections."""

from __future__ import annotations

from enum import StrEnum


class DelayUnit(StrEnum):
    """How a step's delay after the due date is counted: calendar days, or working days
    (no Saturday, Sunday nor public holiday of the utility's country)."""

    DAYS = "days"
    WORKING_DAYS = "working_days"


class StepChannel(StrEnum):
    """How the customer hears of a step."""

    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"  # a PDF printed and posted
    FIELD_VISIT = "field_visit"  # an agent calls on the premises
    NONE = "none"


class StepAction(StrEnum):
    """What a step does besides telling the customer."""

    NOTICE = "notice"
    CUT_ELIGIBLE = "cut_eligible"  # the account joins the cut eligibility list
    LITIGATION = "litigation"  # the account is handed to a bailiff or a lawyer


class HoldKind(StrEnum):
    VULNERABLE = "vulnerable"
    MEDICAL = "medical"
    DISPUTE = "dispute"
    REGULATORY = "regulatory"


class HoldRule(StrEnum):
    """When a hold applies: over its dates, or (regulatory) on the eve of a non-working
    day between its dates (no cut before a weekend or a public holiday)."""

    DATES = "dates"
    EVE_OF_NON_WORKING_DAY = "eve_of_non_working_day"


class FileStatus(StrEnum):
    """Where an account stands in collections."""

    CURRENT = "current"  # nothing overdue
    OVERDUE = "overdue"  # steps run
    PLAN = "plan"  # a payment plan in good standing suspends the steps
    LITIGATION = "litigation"
    WRITTEN_OFF = "written_off"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class WriteOffStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
