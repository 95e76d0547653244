"""Domain events of the network: news the domains above hear through the outbox."""

from __future__ import annotations

from typing import ClassVar

from core.events import DomainEvent


class SwitchOperated(DomainEvent):
    """A switch was opened or closed: the feeders on both sides are marked dirty and need a
    re-trace (their customers' electrical address may have changed)."""

    name: ClassVar[str] = "gis.switch_operated"

    switch_id: int
    code: str
    open: bool
    feeder_ids: list[int]
    actor: str
    reason: str | None = None
