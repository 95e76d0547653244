"""Lifecycles of contracts and cases as explicit state machines (python-statemachine).

The machines only decide whether a step is allowed and move the model's ``status``;
``core.lifecycle.Lifecycle`` fires them and writes each step to the history table
(``CONTRACT`` and ``CASE`` below); the services do the side effects.
"""

from __future__ import annotations

from statemachine import State, StateMachine

from core.lifecycle import Lifecycle
from customers.errors import CaseTransitionInvalidError, ContractTransitionInvalidError
from customers.models import CaseStatusChange, ContractTransition


class ContractLifecycle(StateMachine):
    """pending -> active (move-in) -> ended (move-out) | transferred | terminated."""

    pending = State(initial=True, value="pending")
    active = State(value="active")
    ended = State(final=True, value="ended")
    transferred = State(final=True, value="transferred")
    terminated = State(final=True, value="terminated")
    cancelled = State(final=True, value="cancelled")

    move_in = pending.to(active)
    cancel = pending.to(cancelled)
    move_out = active.to(ended)
    transfer = active.to(transferred)
    change_power = active.to.itself(internal=True)
    terminate = active.to(terminated) | pending.to(cancelled)


class CaseLifecycle(StateMachine):
    """open -> in_progress <-> waiting_customer -> resolved -> closed (or reopened)."""

    open = State(initial=True, value="open")
    in_progress = State(value="in_progress")
    waiting_customer = State(value="waiting_customer")
    resolved = State(value="resolved")
    closed = State(final=True, value="closed")
    cancelled = State(final=True, value="cancelled")

    start = open.to(in_progress) | waiting_customer.to(in_progress)
    wait_customer = open.to(waiting_customer) | in_progress.to(waiting_customer)
    resolve = open.to(resolved) | in_progress.to(resolved) | waiting_customer.to(resolved)
    reopen = resolved.to(in_progress)
    close = resolved.to(closed)
    cancel = open.to(cancelled) | in_progress.to(cancelled) | waiting_customer.to(cancelled)


CONTRACT = Lifecycle(
    ContractLifecycle, ContractTransition, "contract_id", ContractTransitionInvalidError, "contract"
)
CASE = Lifecycle(CaseLifecycle, CaseStatusChange, "case_id", CaseTransitionInvalidError, "case")
