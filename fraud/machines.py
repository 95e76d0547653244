"""The flag lifecycle as an explicit state machine (python-statemachine), fired and
recorded with its history by ``core.lifecycle`` (``FLAG`` below).

    new -> reviewing -> sent_to_inspection -> confirmed | dismissed
    new | reviewing -> dismissed        (the evidence explains the drop: no visit)
    reviewing -> new                    (put back in the queue)
"""

from __future__ import annotations

from statemachine import State, StateMachine

from core.lifecycle import Lifecycle
from fraud.errors import FlagTransitionInvalidError
from fraud.models import FlagStatusChange


class FlagLifecycle(StateMachine):
    new = State(initial=True, value="new")
    reviewing = State(value="reviewing")
    sent_to_inspection = State(value="sent_to_inspection")
    confirmed = State(final=True, value="confirmed")
    dismissed = State(final=True, value="dismissed")

    review = new.to(reviewing)
    requeue = reviewing.to(new)
    send_to_inspection = reviewing.to(sent_to_inspection)
    confirm = sent_to_inspection.to(confirmed)
    dismiss = new.to(dismissed) | reviewing.to(dismissed) | sent_to_inspection.to(dismissed)


FLAG = Lifecycle(FlagLifecycle, FlagStatusChange, "flag_id", FlagTransitionInvalidError, "flag")
