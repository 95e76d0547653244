"""Navigation per role: a page appears in the menu when the user holds its scope."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import Actor


@dataclass(frozen=True)
class NavItem:
    """One menu entry; ``order`` places it (work pages first, administration last)."""

    label: str
    path: str
    scope: str | None
    order: int = 50


NAV_ITEMS: list[NavItem] = [
    NavItem("Home", "/", None, order=0),
    NavItem("Audit trail", "/audit", "audit:read", order=90),
]


def register_nav_item(item: NavItem) -> None:
    """Let a domain's pages add themselves to the menu (called from the pages module)."""
    if all(existing.path != item.path for existing in NAV_ITEMS):
        NAV_ITEMS.append(item)
        NAV_ITEMS.sort(key=lambda i: i.order)


def nav_for(actor: Actor) -> list[NavItem]:
    return [i for i in NAV_ITEMS if i.scope is None or actor.has_scope(i.scope)]
