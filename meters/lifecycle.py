"""The meter asset's lifecycle as a state machine: which moves are allowed from where.

in_stock -> installed -> removed -> (installed again | in_stock after a bench test |
scrapped); in_stock -> scrapped. Scrapped is final.
"""

from __future__ import annotations

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from meters.errors import MeterTransitionInvalidError


class MeterLifecycle(StateMachine):
    in_stock = State(initial=True, value="in_stock")
    installed = State(value="installed")
    removed = State(value="removed")
    scrapped = State(final=True, value="scrapped")

    install = in_stock.to(installed) | removed.to(installed)
    remove = installed.to(removed)
    restock = removed.to(in_stock)
    scrap = in_stock.to(scrapped) | removed.to(scrapped)


def next_status(current: str, event: str, *, serial: str = "") -> str:
    """The status after ``event``; a 409 problem when the lifecycle forbids it."""
    machine = MeterLifecycle(start_value=current)
    try:
        machine.send(event)
    except TransitionNotAllowed as exc:
        allowed = sorted(e.id for e in machine.allowed_events)
        raise MeterTransitionInvalidError(
            f"meter {serial or ''} cannot {event} while {current}".replace("  ", " "),
            extra={"status": current, "event": event, "allowed_events": allowed},
        ) from exc
    return str(machine.current_state_value)
