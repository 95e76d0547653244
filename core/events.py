"""Registry of domain-event handlers, filled at start-up by the composition root.

A handler is ``fn(session, payload, event_id)``: it runs in its own transaction, together
with the delivery record that makes it run only once per event.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Handler = Callable[[Session, dict[str, Any], uuid.UUID], None]

_handlers: dict[str, dict[str, Handler]] = {}


def handles(event_name: str, *, name: str | None = None) -> Callable[[Handler], Handler]:
    """Register ``fn`` for ``event_name`` under a stable handler name (default: its path)."""

    def register(fn: Handler) -> Handler:
        handler_name = name or f"{fn.__module__}.{fn.__qualname__}"
        _handlers.setdefault(event_name, {})[handler_name] = fn
        return fn

    return register


def handlers_for(event_name: str) -> dict[str, Handler]:
    return dict(_handlers.get(event_name, {}))


def load_handler_modules(modules: str | list[str]) -> None:
    names = modules.split(",") if isinstance(modules, str) else modules
    for module in (m.strip() for m in names):
        if module:
            importlib.import_module(module)
