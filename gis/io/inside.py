"""An import by staff bound to a territory stays inside it.

Every position the import would write (each node, each asset's geometry) must lie in the
territory, and every existing asset it would overwrite (same code) must be one the
importer may see: otherwise an agency could move another agency's assets, or place new
ones on its land. A position that cannot be placed cannot be shown to lie inside, so it is
refused too. Head-office staff (unrestricted) import anything.
"""

from __future__ import annotations

from typing import Any

from shapely import to_wkb
from shapely.geometry import Point
from sqlalchemy import ARRAY, Text, any_, cast, false, func, literal, select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import OutsideTerritoryError, area_sql, visible
from gis.io.bundle import Bundle
from gis.io.placement import Placed, table_of
from gis.models import Feeder, LineSegment, NetworkNode, PowerTransformer, ServicePoint, Switch

_MODELS: dict[str, type[Any]] = {
    "feeder": Feeder,
    "node": NetworkNode,
    "segment": LineSegment,
    "switch": Switch,
    "transformer": PowerTransformer,
    "service_point": ServicePoint,
}
SHOWN = 10  # refused references named in the message


def _positions(bundle: Bundle, placed: Placed) -> tuple[list[str], list[bytes | None]]:
    labels, shapes = [], []
    for code, (lon, lat, _precision) in sorted(placed.nodes.items()):
        labels.append(f"node:{code}")
        shapes.append(None if lon is None else bytes(to_wkb(Point(lon, lat))))
    for record in bundle.records:
        if record.geom is not None and table_of(record) != "feeder":
            labels.append(f"{record.kind}:{record.ref}")
            shapes.append(bytes(to_wkb(record.geom)))
    return labels, shapes


def _refuse(what: str, refs: list[str]) -> None:
    shown = ", ".join(refs[:SHOWN]) + (
        f" and {len(refs) - SHOWN} more" if len(refs) > SHOWN else ""
    )
    raise OutsideTerritoryError(f"{what} outside your territory: {shown}; nothing was imported")


def require_inside(session: Session, actor: Actor, bundle: Bundle, placed: Placed) -> None:
    """Refuse (OutsideTerritoryError) an import reaching outside ``actor``'s territory."""
    area, params = area_sql(actor)
    if area is None:
        return
    labels, shapes = _positions(bundle, placed)
    unplaced = [label for label, shape in zip(labels, shapes, strict=True) if shape is None]
    if unplaced:
        _refuse("assets without a position cannot be shown to lie", unplaced)
    outside = session.scalars(
        text(
            "SELECT i FROM unnest(:g ::bytea[]) WITH ORDINALITY AS u(g, i) "
            f"WHERE NOT ST_Intersects(ST_SetSRID(ST_GeomFromWKB(g), 4326), {area}) ORDER BY i"
        ),
        {"g": shapes, **params},
    ).all()
    if outside:
        _refuse("positions", [labels[int(i) - 1] for i in outside])
    codes: dict[str, list[str]] = {"node": sorted(placed.nodes)}
    for record in bundle.records:
        codes.setdefault(table_of(record), []).append(record.code)
    for table, wanted in codes.items():
        model = _MODELS[table]
        hidden = session.scalars(
            select(model.code).where(
                model.code == any_(cast(literal(wanted, ARRAY(Text)), ARRAY(Text))),
                ~func.coalesce(visible(actor, model), false()),
            )
        ).all()
        if hidden:
            _refuse(f"existing {table.replace('_', ' ')}s would be overwritten", sorted(hidden))
