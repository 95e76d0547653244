"""Navigation per role: a page appears in the menu when the user holds its scope."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import Actor


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    scope: str | None


NAV_ITEMS: list[NavItem] = [
    NavItem("Home", "/", None),
    NavItem("Map", "/map", "network:read"),
    NavItem("Audit trail", "/audit", "audit:read"),
]


def register_nav_item(item: NavItem, *, before: str | None = None) -> None:
    """Let a domain's pages add themselves to the menu (called from the pages module)."""
    if any(existing.path == item.path for existing in NAV_ITEMS):
        return
    index = next((i for i, e in enumerate(NAV_ITEMS) if e.path == before), len(NAV_ITEMS))
    NAV_ITEMS.insert(index, item)


def nav_for(actor: Actor) -> list[NavItem]:
    return [i for i in NAV_ITEMS if i.scope is None or actor.has_scope(i.scope)]
