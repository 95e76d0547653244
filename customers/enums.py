"""Closed vocabularies of the customer domain (stored as text, validated here)."""

from __future__ import annotations

from enum import StrEnum


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class PartyStatus(StrEnum):
    ACTIVE = "active"
    # Folded into another party by a merge; kept (never deleted) so its history stays.
    MERGED = "merged"


class IdentityDocumentType(StrEnum):
    NATIONAL_ID = "national_id"
    PASSPORT = "passport"
    VOTER_CARD = "voter_card"
    DRIVING_LICENCE = "driving_licence"
    RESIDENCE_PERMIT = "residence_permit"
    TAX_ID = "tax_id"  # IFU in Benin
    COMPANY_REGISTRATION = "company_registration"  # RCCM


class PhoneKind(StrEnum):
    MOBILE = "mobile"
    FIXED = "fixed"
    OTHER = "other"


class Commodity(StrEnum):
    ELECTRICITY = "electricity"


class UsageCategory(StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    PUBLIC_LIGHTING = "public_lighting"


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    REDUCED = "reduced"
    DISCONNECTED = "disconnected"


class DeliveryChannel(StrEnum):
    """How an account's bills and notices reach the payer."""

    PAPER = "paper"
    EMAIL = "email"
    SMS = "sms"


class AccountStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ContractStatus(StrEnum):
    PENDING = "pending"  # move-in requested, supply not started yet
    ACTIVE = "active"
    ENDED = "ended"  # moved out
    TRANSFERRED = "transferred"  # handed over to another holder
    TERMINATED = "terminated"  # ended by the utility (or by the customer without move-out)
    CANCELLED = "cancelled"  # never started


# Statuses that occupy the usage point: at most one such contract per usage point and date.
OCCUPYING_CONTRACT_STATUSES = (ContractStatus.PENDING, ContractStatus.ACTIVE)


class ContractRole(StrEnum):
    HOLDER = "holder"
    PAYER = "payer"
    OWNER = "owner"
    TENANT = "tenant"


class CaseType(StrEnum):
    COMPLAINT = "complaint"
    CONNECTION_REQUEST = "connection_request"
    DATA_CORRECTION = "data_correction"
    METER_CHECK = "meter_check"
    DISPUTE = "dispute"


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# Cases whose SLA clock still runs.
OPEN_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_CUSTOMER)


class CasePriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class InteractionChannel(StrEnum):
    PHONE = "phone"
    DESK = "desk"
    EMAIL = "email"
    SMS = "sms"
    FIELD = "field"
    WEB = "web"
    LETTER = "letter"  # a posted letter (a dunning notice)


class InteractionDirection(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class CaseEvent(StrEnum):
    """Steps a case can take (see customers.machines.CaseLifecycle)."""

    START = "start"
    WAIT_CUSTOMER = "wait_customer"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    CANCEL = "cancel"
