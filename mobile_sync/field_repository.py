"""Read-only queries over field's records that the sync layer needs (what a device holds,
what changed since it pulled). Every change goes through ``field.service``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from field.models import ReadingRound, RoundItem, SyncCounter, WorkOrder
from meters.models import Meter, Register


@dataclass(frozen=True)
class ItemState:
    """A round item as the sync layer checks a pushed record against it."""

    id: int
    version: int
    technician_id: int | None
    meter_serial: str | None
    status: str
    round_status: str


@dataclass(frozen=True)
class OrderState:
    id: int
    version: int
    technician_id: int | None
    status: str


def item_state(session: Session, item_id: int) -> ItemState | None:
    row = session.execute(
        select(RoundItem, ReadingRound.status)
        .join(ReadingRound, ReadingRound.id == RoundItem.round_id)
        .where(RoundItem.id == item_id)
    ).one_or_none()
    if row is None:
        return None
    item, round_status = row
    return ItemState(
        item.id,
        item.change_version,
        item.technician_id,
        item.meter_serial,
        item.status,
        round_status,
    )


def order_state(session: Session, order_id: int) -> OrderState | None:
    order = session.get(WorkOrder, order_id)
    if order is None:
        return None
    return OrderState(order.id, order.change_version, order.technician_id, order.status)


def route_version(session: Session, technician_id: int) -> int:
    """The technician's last change version: it grows with every change to what they hold."""
    counter = session.get(SyncCounter, technician_id)
    return int(counter.version) if counter else 0


def register_meter_serial(session: Session, register_id: int) -> tuple[str, str] | None:
    """(meter serial, register code) of a register."""
    row: Any = session.execute(
        select(Meter.serial, Register.code)
        .join(Register, Register.meter_id == Meter.id)
        .where(Register.id == register_id)
    ).one_or_none()
    return (row[0], row[1]) if row else None
