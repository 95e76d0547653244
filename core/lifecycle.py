"""Lifecycles with history: a python-statemachine machine decides whether a step is
allowed and moves the subject's status; every step leaves one history row (who, when,
from, to, why). Domains describe a lifecycle once and call ``step``.

A history model has the columns ``event, from_status, to_status, reason, actor,
actor_id`` (and ``details`` when it keeps them) plus a foreign key to its subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from statemachine import StateMachine
from statemachine.exceptions import TransitionNotAllowed

from core.context import Actor
from core.errors import DomainError


@dataclass(frozen=True)
class Lifecycle:
    """How one kind of thing (contract, case, meter, work order ...) moves through its
    states, and where its steps are recorded."""

    machine: type[StateMachine]
    history: type[Any] | None  # the history model; None when the audit trail suffices
    subject_key: str  # the history's foreign-key attribute, e.g. "contract_id"
    error: type[DomainError]  # raised (409) when a step is not allowed now
    noun: str  # "contract", for messages
    state_field: str = "status"

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(sorted(e.id for e in self.machine.events))  # type: ignore[attr-defined]

    def fire(self, subject: Any, event: str) -> tuple[str, str]:
        """Apply ``event`` to the subject's status; (from, to) or a 409 domain error."""
        before = getattr(subject, self.state_field)
        if event not in self.events:
            raise self.error(
                f"unknown step {event!r} for a {self.noun}",
                extra={"status_now": before, "allowed_events": list(self.events)},
            )
        machine = self.machine(model=subject, state_field=self.state_field)
        try:
            machine.send(event)
        except TransitionNotAllowed as exc:
            allowed = sorted(e.id for e in machine.allowed_events)
            raise self.error(
                f"a {self.noun} in status {before!r} cannot {event.replace('_', ' ')}",
                extra={"status_now": before, "event": event, "allowed_events": allowed},
            ) from exc
        return before, getattr(subject, self.state_field)

    def step(
        self,
        session: Session,
        actor: Actor,
        subject: Any,
        event: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Fire ``event`` and record it in the history (in the caller's transaction)."""
        before, after = self.fire(subject, event)
        self.record(session, actor, subject, event, before, after, reason=reason, details=details)
        return before, after

    def record(
        self,
        session: Session,
        actor: Actor,
        subject: Any,
        event: str,
        before: str | None,
        after: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Write one history row (also for changes that are not transitions, such as a
        re-assignment that keeps the status). ``at`` back-dates it (a paper form's date);
        by default the database stamps the transaction's time."""
        if self.history is None:
            return
        values: dict[str, Any] = {
            self.subject_key: subject.id,
            "event": event,
            "from_status": before,
            "to_status": after,
            "reason": reason,
            "actor": actor.username,
            "actor_id": actor.user_id,
        }
        if hasattr(self.history, "details"):
            values["details"] = details or {}
        if at is not None:
            values["at"] = at
        session.add(self.history(**values))
