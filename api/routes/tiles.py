"""Vector tiles of the network for the map pages: /tiles/{layer}/{z}/{x}/{y}.mvt."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from core.errors import EntityNotFoundError, FieldError, InputInvalidError
from gis import tiles

router = APIRouter(prefix="/tiles", tags=["tiles"], responses=PROBLEM_RESPONSES)

MVT = "application/vnd.mapbox-vector-tile"
# Private: the content depends on the caller's territory. Short: the network changes.
CACHE_CONTROL = "private, max-age=300"


class TileLayerNotFoundError(EntityNotFoundError):
    code = "tile_layer_not_found"
    title = "No such tile layer"


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={
        200: {"content": {MVT: {}}, "description": "A Mapbox vector tile (may be empty)"},
        404: PROBLEM_RESPONSES[422],
    },
)
def tile(
    session: DbSession,
    actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    layer: str = Path(..., max_length=40, description=f"One of: {', '.join(tiles.LAYERS)}"),
    z: int = Path(..., ge=0, le=tiles.MAX_ZOOM),
    x: int = Path(..., ge=0, le=2**tiles.MAX_ZOOM - 1),
    y: int = Path(..., ge=0, le=2**tiles.MAX_ZOOM - 1),
) -> Response:
    """One vector tile (XYZ, Web Mercator) of a network layer: ``service_points`` (from
    zoom 14), ``lines`` (MV from 10, LV from 15), ``transformers`` (from 12), ``switches``
    (from 11). Feature properties carry what styling needs: kind, feeder, kVA, open."""
    spec = tiles.LAYERS.get(layer)
    if spec is None:
        raise TileLayerNotFoundError(f"no tile layer {layer!r}; layers: {', '.join(tiles.LAYERS)}")
    if not tiles.tile_in_range(z, x, y):
        raise InputInvalidError(
            f"tile {z}/{x}/{y} does not exist: x and y must be below 2^z",
            errors=[
                FieldError("x" if x >= 2**z else "y", "must be below 2^z", code="tile_out_of_range")
            ],
        )
    body = tiles.build_tile(session, spec, z, x, y, actor=actor)
    return Response(body, media_type=MVT, headers={"Cache-Control": CACHE_CONTROL})
