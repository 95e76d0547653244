"""The one territory rule: staff of an agency see and change only what lies in its territory.

An agency's territory is its outline (``core_agency.territory``, EPSG:4326). The principal
carries it resolved at authentication (``Actor.territory_agency_id``): ``None`` means
unrestricted (head-office staff without an agency, or an agency without an outline).

Every table that holds something located somewhere says how it is located, once, in its
model, with a ``__territory__`` class method taking a :class:`Scope` and returning a SQL
boolean: a premises by its point, a usage point by its premises, a meter by its current
installation, a reading by its usage point, and so on. A table with no location says so
with ``__territory__ = GLOBAL`` (tariffs, rule sets: the same for every agency). Every query
of every domain filters with :func:`visible`; raw SQL uses :func:`area_sql`. A test walks
the mapped models and fails when one declares neither, so a new table cannot forget it.

Reads of something outside the territory answer 404 (its existence is not disclosed);
writes that would create or link something outside it raise :class:`OutsideTerritoryError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.context import Actor
from core.errors import PermissionDeniedError


class OutsideTerritoryError(PermissionDeniedError):
    """A write would create, move or link something outside the caller's territory."""

    code = "outside_territory"
    title = "Outside your territory"


class TerritoryRuleMissingError(RuntimeError):
    """A model is queried under the territory rule but declares no ``__territory__``."""


@dataclass(frozen=True)
class Scope:
    """The territory a query is limited to: the agency and its outline as SQL."""

    agency_id: int

    @property
    def area(self) -> Any:
        """The agency's outline (EPSG:4326 multipolygon) as a scalar subquery."""
        return select(Agency.territory).where(Agency.id == self.agency_id).scalar_subquery()

    def covers(self, geom: Any) -> ColumnElement[bool]:
        """``geom`` (EPSG:4326) intersects the territory; a NULL geometry never does."""
        return func.ST_Intersects(geom, self.area)


class Located(Protocol):
    """A model class that states how its rows are placed in a territory."""

    __territory__: Callable[[Scope], ColumnElement[bool]] | None


# ``__territory__ = GLOBAL``: the table holds nothing located (tariffs, rule sets ...).
GLOBAL: Final = None


def scope_of(actor: Actor) -> Scope | None:
    """The territory limiting ``actor``, or None when unrestricted."""
    if actor.territory_agency_id is None:
        return None
    return Scope(actor.territory_agency_id)


def visible(actor: Actor, model: type[Any]) -> ColumnElement[bool]:
    """The SQL condition selecting the rows of ``model`` that ``actor`` may see."""
    if not hasattr(model, "__territory__"):
        raise TerritoryRuleMissingError(
            f"{model.__name__} declares no __territory__ (a rule, or GLOBAL)"
        )
    scope = scope_of(actor)
    rule = model.__territory__
    if scope is None or rule is None:
        return true()
    return rule(scope)  # type: ignore[no-any-return]


def area_sql(actor: Actor, param: str = "territory_agency") -> tuple[str | None, dict[str, Any]]:
    """For raw SQL: the territory outline as a subquery naming ``:param``, and its
    parameters; ``(None, {})`` when unrestricted."""
    scope = scope_of(actor)
    if scope is None:
        return None, {}
    return (
        f"(SELECT a.territory FROM core_agency a WHERE a.id = :{param})",
        {param: scope.agency_id},
    )


def covers_geometry(session: Session, actor: Actor, geom: Any) -> bool:
    """Whether ``geom`` (a SQL geometry expression or WKB element, EPSG:4326) lies in the
    caller's territory (always true when unrestricted)."""
    scope = scope_of(actor)
    if scope is None:
        return True
    return bool(session.scalar(select(scope.covers(geom))))


def require_visible(session: Session, actor: Actor, model: type[Any], key: Any, what: str) -> None:
    """Refuse a write that links ``model`` row ``key`` when the caller cannot see it."""
    if scope_of(actor) is None:
        return
    seen = session.scalar(select(model.id).where(model.id == key, visible(actor, model)))
    if seen is None:
        raise OutsideTerritoryError(f"{what} {key} is outside your territory")


def require_covered(session: Session, actor: Actor, geom: Any, what: str) -> None:
    """Refuse a write placing ``what`` at ``geom`` outside the caller's territory."""
    if not covers_geometry(session, actor, geom):
        raise OutsideTerritoryError(f"{what} lies outside your territory")
