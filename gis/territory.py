"""The territory rule (``core.territory``) for the network's hand-written SQL.

Lists, tiles and exports are single raw statements over a table aliased ``x`` (they build
GeoJSON and vector tiles in the database). They do not restate where an asset lies: each
takes the model's own ``__territory__`` rule, rewritten onto the alias, so the one rule
declared in ``gis.models`` is the rule every network query applies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

from core.auth.models import Agency
from core.context import Actor
from core.territory import scope_of, visible

_DIALECT = postgresql.dialect()


def rule_sql(actor: Actor, model: type[Any], alias: str = "x") -> str | None:
    """``model``'s territory condition for ``actor`` as SQL over ``<table> AS <alias>``;
    None when the actor is unrestricted. Its only value (the agency id, an integer from the
    signed-in principal) is rendered inline, so the fragment needs no parameters."""
    if scope_of(actor) is None:
        return None
    table = model.__table__.alias(alias)
    condition = ClauseAdapter(table).traverse(visible(actor, model))
    # Rendered inside a query over the alias, so that the rule's EXISTS sub-queries
    # correlate to it; the condition is what follows the query's one top-level WHERE.
    query = select(literal_column("1")).select_from(table).where(condition)
    rendered = str(query.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    return f"({rendered.split(chr(10) + 'WHERE ', 1)[1]})"


def territory_bounds(session: Session, actor: Actor) -> tuple[float, float, float, float] | None:
    """The caller's territory as a lon/lat box (EPSG:4326: min lon, min lat, max lon, max
    lat), or None when the caller is unrestricted."""
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
