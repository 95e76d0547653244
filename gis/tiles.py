"""Mapbox vector tiles of the network, one SQL statement per tile (ST_AsMVT).

Tiles are addressed in Web Mercator (EPSG:3857, XYZ scheme). Assets are stored in
EPSG:4326, so the tile envelope is transformed to 4326 for the GiST index (``geom &&``)
and each selected geometry is transformed to 3857 for encoding. A tile below a layer's
minimum zoom is empty: too many features to be useful, and too slow to build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import rule_sql
from gis.models import LineSegment, PowerTransformer, ServicePoint, Switch

EXTENT = 4096  # tile coordinate units
BUFFER = 64  # units drawn beyond the edge, so symbols are not cut at tile seams
MAX_ZOOM = 22


@dataclass(frozen=True)
class TileLayer:
    """One layer: its minimum zoom and the SELECT producing (fid, properties..., geom) rows
    from alias ``x`` filtered by ``{where}``. The id is both the MVT feature id (``fid``)
    and a property: map clients (Leaflet.VectorGrid) only hand properties to handlers."""

    name: str
    min_zoom: int
    model: type[Any]  # the table behind ``x``: its ``__territory__`` limits the tile
    select: str
    # True when the table keeps a Web Mercator copy (``geom_3857``, GiST-indexed): the tile
    # then neither reprojects rows nor transforms its envelope.
    mercator: bool = False


_ENVELOPE_4326 = "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326)"
_MVT_GEOM = f"ST_AsMVTGeom(ST_Transform(x.geom, 3857), ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true) AS geom"
_MVT_GEOM_3857 = (
    f"ST_AsMVTGeom(x.geom_3857, ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true) AS geom"
)

LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer(
            # From zoom 14: a zoom-13 tile over a dense city holds 100,000+ connections.
            # Ids only (no joins): a dense zoom-14 tile holds tens of thousands of points.
            name="service_points",
            min_zoom=14,
            model=ServicePoint,
            mercator=True,
            select="SELECT x.id AS fid, x.id, x.kind, x.feeder_id, x.transformer_id, "
            f"{_MVT_GEOM_3857} FROM gis_service_point x WHERE {{where}}",
        ),
        TileLayer(
            # LV only from zoom 15: a city has as many LV spans as connections.
            name="lines",
            min_zoom=10,
            model=LineSegment,
            select="SELECT x.id AS fid, x.id, x.voltage_level AS level, x.kind, x.feeder_id, f.code AS feeder, "
            f"{_MVT_GEOM} FROM gis_line_segment x LEFT JOIN gis_feeder f ON f.id = x.feeder_id "
            "WHERE {where} AND (:z >= 15 OR x.voltage_level = 'mv')",
        ),
        TileLayer(
            name="transformers",
            min_zoom=12,
            model=PowerTransformer,
            select="SELECT x.id AS fid, x.id, x.code, x.rated_kva AS kva, x.feeder_id, f.code AS feeder, "
            f"{_MVT_GEOM} FROM gis_power_transformer x "
            "LEFT JOIN gis_feeder f ON f.id = x.feeder_id WHERE {where}",
        ),
        TileLayer(
            name="switches",
            min_zoom=11,
            model=Switch,
            select="SELECT x.id AS fid, x.id, x.code, x.kind, x.is_open AS open, x.normal_open, x.feeder_id, "
            f"{_MVT_GEOM} FROM gis_switch x WHERE {{where}}",
        ),
    )
}


def tile_in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def build_tile(
    session: Session, layer: TileLayer, z: int, x: int, y: int, *, actor: Actor
) -> bytes:
    """The tile's protobuf bytes, of what ``actor`` may see (empty when the tile holds
    nothing or is below the layer's minimum zoom)."""
    if z < layer.min_zoom:
        return b""
    where = (
        "x.geom_3857 && ST_TileEnvelope(:z, :x, :y, margin => :margin)"
        if layer.mercator
        else f"x.geom && {_ENVELOPE_4326}"
    )
    params = {"z": z, "x": x, "y": y, "margin": BUFFER / EXTENT}
    inside = rule_sql(actor, layer.model)
    if inside is not None:
        where += f" AND {inside}"
    sql = (
        f"SELECT ST_AsMVT(t, '{layer.name}', {EXTENT}, 'geom', 'fid') FROM "
        f"({layer.select.format(where=where)}) AS t WHERE t.geom IS NOT NULL"
    )
    # The PostGIS functions' high declared costs make the planner JIT-compile this query,
    # which costs far more (hundreds of ms) than running it: never worth it for a tile.
    session.execute(text("SET LOCAL jit = off"))
    tile = session.execute(text(sql), params).scalar()
    return bytes(tile) if tile else b""
