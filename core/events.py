"""Typed domain events and the registry of their handlers.

An event is news one domain tells the domains above it (a switch was operated, a move-out
needs a final reading). Each is a class in its owning domain's ``events.py``: a frozen
pydantic model whose fields are the payload and whose ``name`` (a ClassVar) is the stable
key stored in the outbox, so renaming the class never orphans stored events.

Handlers are registered per event class at start-up by the composition root
(``@handles(SwitchOperated)``) and receive the typed event: ``fn(session, event, event_id)``.
Each runs in its own transaction together with the delivery record that makes it run only
once per event (see ``core.outbox.deliver``).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session


class DomainEvent(BaseModel):
    """Base of every domain event: the fields are the payload, ``name`` the stored key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            raise TypeError(
                f"{cls.__qualname__} needs a stable `name` (e.g. 'gis.switch_operated')"
            )
        known = _event_types.get(cls.name)
        if known is not None and _path(known) != _path(cls):
            raise TypeError(f"event name {cls.name!r} used by {_path(known)} and {_path(cls)}")
        _event_types[cls.name] = cls

    def payload(self) -> dict[str, Any]:
        """The JSON stored in the outbox row (dates as ISO strings, decimals as strings)."""
        return self.model_dump(mode="json")


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Session, Any, uuid.UUID], None]

_event_types: dict[str, type[DomainEvent]] = {}
_handlers: dict[str, dict[str, Handler]] = {}


def _path(obj: Callable[..., Any]) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def handles(
    event_type: type[E], *, name: str | None = None
) -> Callable[[Callable[[Session, E, uuid.UUID], None]], Callable[[Session, E, uuid.UUID], None]]:
    """Register ``fn`` for ``event_type`` under a stable handler name (default: its path).
    The handler name keys the delivery record, so keep it when moving the function."""

    def register(
        fn: Callable[[Session, E, uuid.UUID], None],
    ) -> Callable[[Session, E, uuid.UUID], None]:
        _handlers.setdefault(event_type.name, {})[name or _path(fn)] = fn
        return fn

    return register


def handlers_for(event_name: str) -> dict[str, Handler]:
    return dict(_handlers.get(event_name, {}))


def parse_event(event_name: str, payload: dict[str, Any]) -> DomainEvent:
    """The typed event back from its stored name and payload."""
    event_type = _event_types.get(event_name)
    if event_type is None:
        raise LookupError(f"no event class is registered under {event_name!r}")
    return event_type.model_validate(payload)


def load_handler_modules(modules: str | list[str]) -> None:
    names = modules.split(",") if isinstance(modules, str) else modules
    for module in (m.strip() for m in names):
        if module:
            importlib.import_module(module)
