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

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, exists, func, literal_column, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

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
    if scope is None or model.__territory__ is None:
        return true()
    key = (model, scope)
    condition = _CONDITIONS.get(key)
    if condition is None:
        if len(_CONDITIONS) >= 4096:  # bounded: agencies x models
            _CONDITIONS.clear()
        condition = _CONDITIONS[key] = model.__territory__(scope)
    return condition


# ``model``'s rule per scope, built once: building one (aliasing the tables it looks through)
# took milliseconds of a request's time, and a SQL expression is immutable, so the same one
# serves every query (its only value is the agency id, in the scope).
_CONDITIONS: dict[tuple[type[Any], Scope], ColumnElement[bool]] = {}


def through(model: type[Any], key: Any, scope: Scope) -> ColumnElement[bool]:
    """Placed where the ``model`` row ``key`` (a foreign-key column or a value) is: a
    usage point's reading, a party's phone. Applies ``model``'s own rule, never a copy."""
    rule = model.__territory__
    if rule is None:
        return true()
    # An alias, so that ``key`` may itself be a column of ``model`` in the outer query.
    inner = model.__table__.alias()
    condition = ClauseAdapter(inner).traverse(rule(scope))
    return exists().where(inner.c.id == key, condition).correlate_except(inner)


_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def rule_sql(actor: Actor, model: type[Any], alias: str = "x") -> str | None:
    """``model``'s territory condition for ``actor`` as SQL over ``<table> AS <alias>``,
    for hand-written statements (GeoJSON, vector tiles, exports built in the database);
    None when the actor is unrestricted. Its only value (the agency id, an integer from the
    signed-in principal) is rendered inline, so the fragment needs no parameters."""
    if scope_of(actor) is None:
        return None
    table = model.__table__.alias(alias)
    condition = ClauseAdapter(table).traverse(visible(actor, model))
    # Rendered inside a query over the alias, so that the rule's EXISTS sub-queries
    # correlate to it; the condition is what follows the query's one top-level WHERE.
    query: Any = select(literal_column("1")).select_from(table).where(condition)
    rendered = str(query.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    return f"({rendered.split(chr(10) + 'WHERE ', 1)[1]})"


def bounds(session: Session, actor: Actor) -> tuple[float, float, float, float] | None:
    """The caller's territory as a lon/lat box (EPSG:4326: min lon, min lat, max lon, max
    lat), or None when the caller is unrestricted (or the outline is empty)."""
    scope = scope_of(actor)
    if scope is None:
        return None
    box = func.Box2D(Agency.territory)
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box)).where(
            Agency.id == scope.agency_id
        )
    ).one_or_none()
    if row is None or row[0] is None:
        return None
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


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
