"""The lifecycle of a billing run (python-statemachine through core.lifecycle):

draft -> simulated (simulate; again to re-simulate) -> approved (a second person) ->
issuing (the first chunk starts) -> issued (the last chunk is done). A draft or a simulated
run may be cancelled; an approved run is re-simulated only by going back (``reopen``).
"""

from __future__ import annotations

from statemachine import State, StateMachine

from billing.runs.errors import BillingRunTransitionInvalidError
from billing.runs.models import BillingRunTransition
from core.lifecycle import Lifecycle


class BillingRunLifecycle(StateMachine):
    draft = State(initial=True, value="draft")
    simulated = State(value="simulated")
    approved = State(value="approved")
    issuing = State(value="issuing")
    issued = State(final=True, value="issued")
    cancelled = State(final=True, value="cancelled")

    simulate = draft.to(simulated) | simulated.to.itself(internal=True)
    approve = simulated.to(approved)
    reopen = approved.to(simulated)
    start_issue = approved.to(issuing)
    finish = issuing.to(issued)
    cancel = draft.to(cancelled) | simulated.to(cancelled) | approved.to(cancelled)


RUN = Lifecycle(
    BillingRunLifecycle,
    BillingRunTransition,
    "run_id",
    BillingRunTransitionInvalidError,
    "billing run",
)
