"""News the fraud domain tells the domains above it (``core.events``)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from core.events import DomainEvent


class FlagSentToInspection(DomainEvent):
    """An analyst sent a flagged usage point to inspection: revenue protection opens an
    NTL case and an inspection work order for it."""

    name: ClassVar[str] = "fraud.flag_sent_to_inspection"

    flag_id: int
    usage_point_id: int
    period: date | None
    probability: float | None
    priority_minor: int
    reasons: list[str]  # the flag's reasons in words, strongest first
    note: str
