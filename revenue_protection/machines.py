"""The NTL case lifecycle as a python-statemachine machine, fired and recorded with its
history by ``core.lifecycle`` (``NTL_CASE`` below).

    open -> inspecting -> inspected -> assessed -> billed -> closed
    assessed -> assessed                 (assessed again: new figures, new rules)
    billed -> contested -> billed        (upheld) | assessed (revised: back-bill credited)
    open | inspecting | inspected -> dismissed   (nothing to claim)
"""

from __future__ import annotations

from statemachine import State, StateMachine

from core.lifecycle import Lifecycle
from revenue_protection.errors import NtlCaseTransitionInvalidError
from revenue_protection.models import NtlCaseStep


class NtlCaseLifecycle(StateMachine):
    open = State(initial=True, value="open")
    inspecting = State(value="inspecting")
    inspected = State(value="inspected")
    assessed = State(value="assessed")
    billed = State(value="billed")
    contested = State(value="contested")
    closed = State(final=True, value="closed")
    dismissed = State(final=True, value="dismissed")

    order_inspection = open.to(inspecting) | inspecting.to.itself(internal=True)
    record_findings = inspecting.to(inspected) | open.to(inspected)
    assess = inspected.to(assessed) | assessed.to.itself(internal=True)
    bill = assessed.to(billed)
    contest = billed.to(contested)
    uphold = contested.to(billed)
    revise = contested.to(assessed)
    close = billed.to(closed)
    dismiss = open.to(dismissed) | inspecting.to(dismissed) | inspected.to(dismissed)


NTL_CASE = Lifecycle(
    NtlCaseLifecycle, NtlCaseStep, "case_id", NtlCaseTransitionInvalidError, "NTL case"
)
