"""The network's assets as RFC 7946 GeoJSON: lists (bbox, code prefix, keyset pages),
detail by code, and a search across every kind of asset. Territory-limited."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import CurrentActor, DbSession
from api.params import BIGINT_MAX, OptionalId
from api.routes.network_topology import CODE as TRACE_CODE
from api.routes.network_topology import TraceCollection
from api.schemas import PROBLEM_RESPONSES
from gis import catalogue, traces
from gis.errors import AssetNotFoundError

router = APIRouter(prefix="/api/v1/network", tags=["network"], responses=PROBLEM_RESPONSES)

CODE_PATTERN = r"^[^\x00-\x1f]+$"  # printable: a NUL would not even reach the database


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class Feature(BaseModel):
    """An RFC 7946 Feature: geometry in EPSG:4326 (lon, lat), properties by asset kind
    (always ``code``; the electrical address as ``feeder_code`` / ``transformer_code``)."""

    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeaturePage(BaseModel):
    """An RFC 7946 FeatureCollection holding one page; ``next`` is the URL of the next page
    (``next_cursor`` its ``after``), both null on the last page."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
    count: int = Field(description="Features in this page")
    next_cursor: int | None = None
    next: str | None = None


def _list_route(kind: catalogue.AssetKind) -> Any:
    def list_assets(
        request: Request,
        session: DbSession,
        actor: CurrentActor("network:read"),  # type: ignore[valid-type]
        bbox: str | None = Query(
            None, max_length=200, description="minlon,minlat,maxlon,maxlat (EPSG:4326)"
        ),
        after: int | None = Query(
            None, ge=0, le=BIGINT_MAX, description="Cursor: the last id of the previous page"
        ),
        limit: int = Query(100, ge=1, le=catalogue.MAX_PAGE),
        q: str | None = Query(
            None, min_length=1, max_length=100, pattern=CODE_PATTERN, description="Code prefix"
        ),
        id: OptionalId = None,
        geometry: bool = Query(
            True, description="false: properties only (geometry null), for lists"
        ),
    ) -> FeaturePage:
        box = catalogue.BBox.parse(bbox) if bbox is not None else None
        features, next_cursor = catalogue.list_assets(
            session,
            kind,
            bbox=box,
            after=after,
            limit=limit,
            code_prefix=q,
            asset_id=id,
            actor=actor,
            with_geometry=geometry,
        )
        next_url = str(request.url.include_query_params(after=next_cursor)) if next_cursor else None
        return FeaturePage(
            features=features, count=len(features), next_cursor=next_cursor, next=next_url
        )

    list_assets.__doc__ = f"List {kind.name.replace('-', ' ')} as a GeoJSON FeatureCollection."
    return list_assets


def _detail_route(kind: catalogue.AssetKind) -> Any:
    def get_asset(
        session: DbSession,
        actor: CurrentActor("network:read"),  # type: ignore[valid-type]
        code: str,
    ) -> Feature:
        feature = None
        if "\x00" not in code:
            feature = catalogue.get_asset(session, kind, code, actor=actor)
        if feature is None:
            raise AssetNotFoundError(f"no {kind.name.rstrip('s').replace('-', ' ')} {code!r}")
        return Feature(**feature)

    get_asset.__doc__ = f"One of the {kind.name.replace('-', ' ')} by code, as a GeoJSON Feature."
    return get_asset


@router.get("/search", response_model=FeaturePage, response_class=GeoJSONResponse)
def search(
    session: DbSession,
    actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    q: str = Query(
        ..., min_length=1, max_length=100, pattern=CODE_PATTERN, description="Code prefix"
    ),
    limit: int = Query(10, ge=1, le=50),
) -> FeaturePage:
    """Assets of any kind whose code starts with ``q`` (exact match first); each feature's
    ``properties.asset`` names its kind (substations, feeders, transformers ...)."""
    features = catalogue.search_assets(session, q, limit=limit, actor=actor)
    return FeaturePage(features=features, count=len(features))


for _kind in catalogue.KINDS.values():
    _snake = _kind.name.replace("-", "_")
    router.add_api_route(
        f"/{_kind.name}",
        _list_route(_kind),
        methods=["GET"],
        response_model=FeaturePage,
        response_class=GeoJSONResponse,
        name=f"list_{_snake}",
        operation_id=f"list_{_snake}",
    )
    router.add_api_route(
        f"/{_kind.name}/{{code}}",
        _detail_route(_kind),
        methods=["GET"],
        response_model=Feature,
        response_class=GeoJSONResponse,
        name=f"get_{_snake}",
        operation_id=f"get_{_snake}",
        responses={404: PROBLEM_RESPONSES[422]},
    )


@router.get(
    "/transformers/{code}/trace",
    response_model=TraceCollection,
    response_class=GeoJSONResponse,
    responses={404: PROBLEM_RESPONSES[422]},
)
def trace_transformer(
    session: DbSession,
    actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    code: str = TRACE_CODE,
) -> Any:
    """The transformer's LV zone: everything it feeds now (LV spans, service points), as a
    GeoJSON FeatureCollection with counts — the same shape as a feeder's trace. Staff
    limited to a territory get 404 for a transformer outside it and see only the part of
    its zone inside it (``territory_limited``)."""
    return GeoJSONResponse(traces.transformer_zone(session, actor=actor, code=code))
