"""The meter asset's lifecycle as a state machine: which moves are allowed from where.

in_stock -> installed -> removed -> (installed again | in_stock after a bench test |
scrapped); in_stock -> scrapped. Scrapped is final. Steps go through
``core.lifecycle.Lifecycle``; a meter keeps no history table of its own: its
installations and the audit trail already say who moved it, when and where.
"""

from __future__ import annotations

from statemachine import State, StateMachine

from core.lifecycle import Lifecycle
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


METER_LIFECYCLE = Lifecycle(
    machine=MeterLifecycle,
    history=None,
    subject_key="meter_id",
    error=MeterTransitionInvalidError,
    noun="meter",
)
