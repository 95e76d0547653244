"""The work order's lifecycle as a python-statemachine machine, fired through
``core.lifecycle`` so that every step leaves a row in field_work_order_transition."""

from __future__ import annotations

from statemachine import State, StateMachine

from core.lifecycle import Lifecycle
from field.errors import WorkOrderTransitionInvalidError
from field.models import WorkOrderTransition


class WorkOrderLifecycle(StateMachine):
    """created -> planned -> assigned -> in_progress -> completed | failed; cancelled
    from any open state. A created order may be assigned at once (planning implied); an
    assigned one may be re-assigned (same state) or handed back to planning."""

    created = State(initial=True, value="created")
    planned = State(value="planned")
    assigned = State(value="assigned")
    in_progress = State(value="in_progress")
    completed = State(final=True, value="completed")
    failed = State(final=True, value="failed")
    cancelled = State(final=True, value="cancelled")

    plan = created.to(planned)
    assign = created.to(assigned) | planned.to(assigned) | assigned.to.itself(internal=True)
    unassign = assigned.to(planned)
    start = assigned.to(in_progress)
    complete = in_progress.to(completed)
    fail = in_progress.to(failed) | assigned.to(failed)
    cancel = created.to(cancelled) | planned.to(cancelled) | assigned.to(cancelled)


WORK_ORDER = Lifecycle(
    WorkOrderLifecycle,
    WorkOrderTransition,
    "work_order_id",
    WorkOrderTransitionInvalidError,
    "work order",
)
