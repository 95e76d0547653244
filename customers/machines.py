"""Lifecycles of contracts and cases as explicit state machines (python-statemachine).

The machines only decide whether a step is allowed and move the model's ``status``; the
services record each step in a history table and do the side effects.
"""

from __future__ import annotations

from typing import Any

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from customers.errors import CaseTransitionInvalidError, ContractTransitionInvalidError


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


CONTRACT_EVENTS = ("move_in", "cancel", "move_out", "transfer", "change_power", "terminate")
CASE_EVENTS = ("start", "wait_customer", "resolve", "reopen", "close", "cancel")


def fire(machine_class: type[StateMachine], model: Any, event: str) -> tuple[str, str]:
    """Apply ``event`` to ``model.status``; return (from, to) or raise a 409 domain error."""
    before = model.status
    is_contract = machine_class is ContractLifecycle
    error = ContractTransitionInvalidError if is_contract else CaseTransitionInvalidError
    allowed = CONTRACT_EVENTS if is_contract else CASE_EVENTS
    if event not in allowed:
        raise error(f"unknown step {event!r}", extra={"status_now": before})
    machine = machine_class(model=model, state_field="status")
    try:
        machine.send(event)
    except TransitionNotAllowed as exc:
        thing = "contract" if is_contract else "case"
        raise error(
            f"a {thing} in status {before!r} cannot {event.replace('_', ' ')}",
            extra={"status_now": before, "event": event},
        ) from exc
    return before, model.status
