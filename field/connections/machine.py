"""The connection request's lifecycle, and how long each step may take (its SLA)."""

from __future__ import annotations

from datetime import timedelta

from statemachine import State, StateMachine

from core.lifecycle import Lifecycle
from field.connections.errors import ConnectionStepInvalidError
from field.connections.models import ConnectionRequestStep


class ConnectionLifecycle(StateMachine):
    """submitted -> surveying -> quoted -> accepted -> paid -> works -> connected."""

    submitted = State(initial=True, value="submitted")
    surveying = State(value="surveying")
    quoted = State(value="quoted")
    accepted = State(value="accepted")
    paid = State(value="paid")
    works = State(value="works")
    connected = State(final=True, value="connected")
    cancelled = State(final=True, value="cancelled")

    order_survey = submitted.to(surveying)
    quote = surveying.to(quoted) | submitted.to(quoted) | quoted.to.itself(internal=True)
    accept = quoted.to(accepted)
    pay = accepted.to(paid)
    start_works = paid.to(works)
    connect = works.to(connected)
    cancel = (
        submitted.to(cancelled)
        | surveying.to(cancelled)
        | quoted.to(cancelled)
        | accepted.to(cancelled)
    )


CONNECTION = Lifecycle(
    ConnectionLifecycle,
    ConnectionRequestStep,
    "request_id",
    ConnectionStepInvalidError,
    "connection request",
)

# How long each step may last before it is late (the pipeline colours it). "quoted" and
# "accepted" wait on the customer; the others on the utility.
STEP_SLA: dict[str, timedelta] = {
    "submitted": timedelta(days=2),
    "surveying": timedelta(days=5),
    "quoted": timedelta(days=30),
    "accepted": timedelta(days=15),
    "paid": timedelta(days=2),
    "works": timedelta(days=10),
}
PIPELINE = ("submitted", "surveying", "quoted", "accepted", "paid", "works", "connected")
