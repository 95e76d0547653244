"""Domain events of the field domain: what the domains above (revenue protection, mobile
sync, billing through the composition root) hear about work done in the field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from core.events import DomainEvent


class WorkOrderCompleted(DomainEvent):
    """A work order was done; ``outcome`` is what the technician recorded."""

    name: ClassVar[str] = "field.work_order_completed"

    work_order_id: int
    number: str
    kind: str
    usage_point_id: int | None
    contract_id: int | None
    completed_at: datetime
    outcome: dict[str, object]


class WorkOrderFailed(DomainEvent):
    """A work order could not be done (no access, refused ...)."""

    name: ClassVar[str] = "field.work_order_failed"

    work_order_id: int
    number: str
    kind: str
    usage_point_id: int | None
    failure_code: str
    failed_at: datetime


class FinalReadingTaken(DomainEvent):
    """The final reading a contract process asked for is stored: the process (final bill,
    account closure) can continue."""

    name: ClassVar[str] = "field.final_reading_taken"

    contract_id: int
    usage_point_id: int
    work_order_id: int
    read_at: datetime
    reading_ids: list[int]
    indexes: dict[str, Decimal]
    process: str | None


class SupplyStateChanged(DomainEvent):
    """A cut, power reduction or restoration was carried out at a usage point."""

    name: ClassVar[str] = "field.supply_state_changed"

    usage_point_id: int
    work_order_id: int
    state: str
    at: datetime


class MeterReplaced(DomainEvent):
    """A meter was replaced in the field (end and start indexes recorded)."""

    name: ClassVar[str] = "field.meter_replaced"

    usage_point_id: int
    work_order_id: int
    old_meter_id: int
    new_meter_id: int
    installation_id: int
    at: datetime


class ImplausibleReadTaken(DomainEvent):
    """A round read failed validation: a re-read order was created."""

    name: ClassVar[str] = "field.implausible_read_taken"

    round_item_id: int
    usage_point_id: int
    reason_codes: list[str]
    re_read_work_order_id: int


class SealAnomalyFound(DomainEvent):
    """A seal was found broken, missing or foreign on a visit: news for revenue
    protection (a possible tampering)."""

    name: ClassVar[str] = "field.seal_anomaly_found"

    seal_event_id: int
    anomaly: str  # found_broken | found_missing | found_foreign
    seal_number: str
    seal_id: int | None
    usage_point_id: int | None
    meter_id: int | None
    work_order_id: int | None
    round_item_id: int | None
    technician_id: int | None
    at: datetime
