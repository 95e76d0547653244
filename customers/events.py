"""Domain events of the customer domain: news the domains above (meters, billing, field)
hear through the outbox."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from core.events import DomainEvent


class FinalReadingRequested(DomainEvent):
    """A contract is ending (move-out, transfer, termination): its meter needs a final
    reading on ``reading_date`` before the account can be closed."""

    name: ClassVar[str] = "customers.final_reading_requested"

    contract_id: int
    contract_number: str
    usage_point_id: int
    usage_point_code: str | None
    reading_date: date
    process: str


class SubscribedPowerChanged(DomainEvent):
    """A contract's subscribed power changed from ``effective_date`` (the breaker setting
    and the demand charge follow it)."""

    name: ClassVar[str] = "customers.subscribed_power_changed"

    contract_id: int
    usage_point_id: int
    from_kva: Decimal
    to_kva: Decimal
    effective_date: date


class CaseClosed(DomainEvent):
    """A customer case (complaint, connection request ...) was closed."""

    name: ClassVar[str] = "customers.case_closed"

    case_id: int
    case_type: str
    party_id: int | None


class PartyMerged(DomainEvent):
    """Two records of the same customer were merged: ``duplicate_id`` now points to
    ``survivor_id``, which holds everything the duplicate had."""

    name: ClassVar[str] = "customers.party_merged"

    survivor_id: int
    duplicate_id: int
    reason: str
