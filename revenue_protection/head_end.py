"""The head-end interface: how Kilowatch asks a smart meter's head-end system to connect
(or limit) a supply, and what comes back: acknowledged, failed, or nothing within the
time-out. A real head-end plugs in behind ``HeadEnd`` (``use_head_end``); the simulated
one answers from a table of meter serials (default: acknowledged at once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class CommandOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class CommandResult:
    outcome: CommandOutcome
    reference: str
    detail: str = ""


class HeadEnd(Protocol):
    def send(
        self, *, meter_serial: str, command: str, timeout_s: float
    ) -> CommandResult:  # pragma: no cover - protocol
        """Send ``command`` (connect, disconnect, limit:<kVA>) and wait up to the time-out."""
        ...


@dataclass
class SimulatedHeadEnd:
    """Answers at once: ``outcomes`` says what a serial gets (default acknowledged)."""

    outcomes: dict[str, CommandOutcome] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, *, meter_serial: str, command: str, timeout_s: float) -> CommandResult:
        del timeout_s  # the simulation never waits: a time-out is reported as one
        self.sent.append((meter_serial, command))
        outcome = self.outcomes.get(meter_serial, CommandOutcome.ACKNOWLEDGED)
        return CommandResult(outcome, f"SIM-{uuid.uuid4().hex[:12]}", outcome.value)


_head_end: HeadEnd = SimulatedHeadEnd()


def head_end() -> HeadEnd:
    return _head_end


def use_head_end(implementation: HeadEnd) -> HeadEnd:
    """Plug a head-end in (a real one at start-up, a scripted one in tests); returns the
    previous one."""
    global _head_end
    previous, _head_end = _head_end, implementation
    return previous
