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

The same rule keeps the companies a Kilowatch serves apart (``core_company``). A company's
own books (tariffs, numbering series, chart of accounts, dunning policies ...) say so with
``__territory__ = COMPANY`` (a ``company_id`` column) or ``company_of(Parent, "parent_id")``
(a child row of such a table): :func:`visible` keeps the rows of the actor's company
(``Actor.company_id``). Located tables need nothing more: an agency belongs to one company,
and an agency-less principal of a Kilowatch serving several companies is bounded by the
outlines of their company's agencies (``Actor.territory_company_id``, ``Scope.company_id``).
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
    """The territory a query is limited to: one agency's outline, or (``agency_id`` None)
    the outlines of every agency of ``company_id``, as SQL. ``company_id`` is the bounded
    principal's company in both cases (the audit log places a company's books by it)."""

    agency_id: int | None
    company_id: int | None = None

    @property
    def area(self) -> Any:
        """The outline (EPSG:4326) as a scalar subquery: the agency's, or the union of the
        company's agencies'."""
        if self.agency_id is not None:
            return select(Agency.territory).where(Agency.id == self.agency_id).scalar_subquery()
        return (
            select(func.ST_Union(Agency.territory))
            .where(Agency.company_id == self.company_id)
            .scalar_subquery()
        )

    def covers(self, geom: Any) -> ColumnElement[bool]:
        """``geom`` (EPSG:4326) intersects the territory; a NULL geometry never does."""
        return func.ST_Intersects(geom, self.area)

    def holds(self, agency_id: Any) -> ColumnElement[bool]:
        """``agency_id`` (a column or a value) is the scope's agency, or one of its
        company's agencies."""
        if self.agency_id is not None:
            return agency_id == self.agency_id  # type: ignore[no-any-return]
        return agency_id.in_(  # type: ignore[no-any-return]
            select(Agency.id).where(Agency.company_id == self.company_id)
        )


# ``__territory__ = GLOBAL``: the table holds nothing located (tariffs, rule sets ...).
GLOBAL: Final = None


@dataclass(frozen=True)
class CompanyRule:
    """``__territory__`` of a company's own table: its ``company_id`` column, or (``parent``
    and ``key`` given) the company of the ``parent`` row that ``key`` names."""

    parent: Any = None
    key: str | None = None

    def condition(self, model: type[Any], company_id: int) -> ColumnElement[bool]:
        if self.parent is None:
            return model.company_id == company_id  # type: ignore[no-any-return]
        parent = self.parent
        return (
            exists()
            .where(parent.id == getattr(model, self.key or ""), parent.company_id == company_id)
            .correlate_except(parent)
        )


# ``__territory__ = COMPANY``: a company's own books (tariffs, series, policies ...).
COMPANY: Final = CompanyRule()


def company_of(parent: type[Any], key: str) -> CompanyRule:
    """``__territory__`` of a child row of a company's table (a tariff's version)."""
    return CompanyRule(parent, key)


def located_rule(model: type[Any]) -> Any:
    """``model``'s rule over a :class:`Scope`, or None (a global or a company's table)."""
    rule = getattr(model, "__territory__", None)
    return None if rule is None or isinstance(rule, CompanyRule) else rule


def scope_of(actor: Actor) -> Scope | None:
    """The territory limiting ``actor``, or None when unrestricted."""
    if actor.territory_agency_id is not None:
        return Scope(actor.territory_agency_id, actor.company_id)
    if actor.territory_company_id is not None:
        return Scope(None, actor.territory_company_id)
    return None


def visible(actor: Actor, model: type[Any]) -> ColumnElement[bool]:
    """The SQL condition selecting the rows of ``model`` that ``actor`` may see."""
    if not hasattr(model, "__territory__"):
        raise TerritoryRuleMissingError(
            f"{model.__name__} declares no __territory__ (a rule, or GLOBAL)"
        )
    rule = model.__territory__
    if isinstance(rule, CompanyRule):
        if actor.company_id is None:
            return true()
        return _cached((model, actor.company_id), lambda: rule.condition(model, actor.company_id))
    scope = scope_of(actor)
    if scope is None or rule is None:
        return true()
    return _cached((model, scope), lambda: rule(scope))


def _cached(key: tuple[type[Any], Any], build: Any) -> ColumnElement[bool]:
    condition = _CONDITIONS.get(key)
    if condition is None:
        if len(_CONDITIONS) >= 4096:  # bounded: (agencies + companies) x models
            _CONDITIONS.clear()
        condition = _CONDITIONS[key] = build()
    return condition


# ``model``'s rule per scope (or company), built once: building one (aliasing the tables it
# looks through) took milliseconds of a request's time, and a SQL expression is immutable,
# so the same one serves every query (its only value is the agency or company id).
_CONDITIONS: dict[tuple[type[Any], Any], ColumnElement[bool]] = {}


def through(model: type[Any], key: Any, scope: Scope) -> ColumnElement[bool]:
    """Placed where the ``model`` row ``key`` (a foreign-key column or a value) is: a
    usage point's reading, a party's phone. Applies ``model``'s own rule, never a copy."""
    rule = located_rule(model)
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
    if scope_of(actor) is None and not (
        isinstance(model.__territory__, CompanyRule) and actor.company_id is not None
    ):
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
    box = func.Box2D(scope.area)
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
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
    if scope.agency_id is None:
        return (
            f"(SELECT ST_Union(a.territory) FROM core_agency a WHERE a.company_id = :{param})",
            {param: scope.company_id},
        )
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
    if scope_of(actor) is None and not isinstance(model.__territory__, CompanyRule):
        return
    seen = session.scalar(select(model.id).where(model.id == key, visible(actor, model)))
    if seen is None:
        raise OutsideTerritoryError(f"{what} {key} is outside your territory")


def require_covered(session: Session, actor: Actor, geom: Any, what: str) -> None:
    """Refuse a write placing ``what`` at ``geom`` outside the caller's territory."""
    if not covers_geometry(session, actor, geom):
        raise OutsideTerritoryError(f"{what} lies outside your territory")


def agency_allowed(session: Session, actor: Actor, agency_id: int | None) -> bool:
    """Whether ``actor`` may name agency ``agency_id`` in a write: any when unrestricted,
    their own when bound to one, one of their company's when bounded by its outlines."""
    scope = scope_of(actor)
    if scope is None:
        return True
    if scope.agency_id is not None:
        return agency_id == scope.agency_id
    if agency_id is None:
        return False
    company = session.scalar(select(Agency.company_id).where(Agency.id == agency_id))
    return company == scope.company_id
