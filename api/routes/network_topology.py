"""Network topology over HTTP: import and export feeders, traces as RFC 7946 GeoJSON,
switch operations."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from core.territory import scope_of
from gis import service, traces
from gis.io.export import EXPORT_FORMATS
from gis.io.upload import stage_upload

router = APIRouter(
    prefix="/api/v1/network",
    tags=["network topology"],
    responses={**PROBLEM_RESPONSES, 404: PROBLEM_RESPONSES[422]},
)

CODE = PathParam(..., min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/]+$")


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


class TraceCollection(BaseModel):
    """An RFC 7946 FeatureCollection of what a trace reached (segments, switches,
    transformers, service points; EPSG:4326), with ``counts`` (also in ``properties``).
    Open switches where the trace stopped are features with ``stops_trace: true``.
    Staff whose agency has a territory see only the assets inside it: features and counts
    are then of what they see, and ``territory_limited`` is true."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]
    properties: dict[str, Any]
    counts: dict[str, int]
    territory_limited: bool = Field(
        False, description="true: limited to the caller's territory (features and counts)"
    )


class ImportReportRead(BaseModel):
    source: str
    format: str
    crs: str
    feeders: list[str]
    records: dict[str, int] = Field(description="Records read, per file kind")
    rows: dict[str, dict[str, int]] = Field(description="Rows inserted / updated per table")
    derived_locations: int
    topology: dict[str, Any]
    feeder_counts: dict[str, dict[str, int]]
    warnings: list[str]
    seconds: float


class SwitchOperation(BaseModel):
    open: bool = Field(description="true to open the switch, false to close it")
    reason: str | None = Field(None, max_length=500)


class SwitchRead(BaseModel):
    code: str
    kind: str
    is_open: bool
    normal_open: bool
    changed: bool = Field(description="false when the switch already was in that state")


# -- imports -------------------------------------------------------------------------------


@router.post("/imports", status_code=201, response_model=ImportReportRead)
def import_feeder(
    session: DbSession,
    actor: CurrentActor("network:import"),  # type: ignore[valid-type]
    file: UploadFile = File(..., description="GeoJSON, GeoPackage or a zip of an OpenDSS folder"),
    format: Literal["geojson", "gpkg", "opendss"] | None = Form(None),
    crs: str | None = Form(None, max_length=100, description="e.g. EPSG:31983"),
) -> ImportReportRead:
    """Import (or re-import) a feeder in one transaction. The format is told from the
    content (a declared ``format`` must agree with it). A file with bad records answers
    422 ``network_import_invalid`` listing each record, one reaching outside the upload
    422 ``network_file_refused``, one reaching outside the caller's territory 403
    ``outside_territory``; none writes anything."""
    folder = Path(tempfile.mkdtemp(prefix="kw-import-"))
    try:
        path = stage_upload(file.file, file.filename, folder)
        report = service.import_network(session, actor=actor, path=path, format=format, crs=crs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ImportReportRead(**report.as_dict())


@router.get(
    "/feeders/{code}/export",
    response_class=Response,
    responses={200: {"content": {t: {} for t in EXPORT_FORMATS.values()}}},
)
def export_feeder(
    session: DbSession,
    actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    code: str = CODE,
    format: Literal["geojson", "gpkg"] = Query("geojson"),
) -> Response:
    """The feeder as a GeoJSON or GeoPackage file (EPSG:4326), re-importable as is. Staff
    bound to a territory get 404 for a feeder wholly outside it, and of a feeder crossing
    it only the part inside (``X-Territory-Limited: true``)."""
    data = service.export_feeder(session, actor=actor, code=code, format=format)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in code)
    headers = {"Content-Disposition": f'attachment; filename="{safe}.{format}"'}
    if scope_of(actor) is not None:
        headers["X-Territory-Limited"] = "true"
    return Response(data, media_type=EXPORT_FORMATS[format], headers=headers)


# -- traces --------------------------------------------------------------------------------


@router.get("/feeders/{code}/trace", response_model=TraceCollection, response_class=GeoJSONResponse)
def trace_feeder(
    session: DbSession,
    actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    code: str = CODE,
    direction: Literal["downstream", "upstream"] = Query("downstream"),
) -> Any:
    """What the feeder's head feeds now (open switches stop the trace), or (upstream) the
    head itself. Limited to the caller's territory (404 for a feeder wholly outside it)."""
    return GeoJSONResponse(
        traces.feeder_trace(session, actor=actor, code=code, direction=direction)
    )


@router.get(
    "/service-points/{code}/upstream",
    response_model=TraceCollection,
    response_class=GeoJSONResponse,
)
def trace_service_point_upstream(
    session: DbSession,
    actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    code: str = PathParam(
        ...,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f/]+$",
        description="The service point's code; or its numeric database id "
        "when no service point has this code",
    ),
) -> Any:
    """The supply path of a service point: its node back to the feeder head, through the
    segments, switches and transformer on the way.

    The service point is addressed by **code**; a path of digits only that is no service
    point's code is taken as its database **id** (a code always wins over an id). The
    response's ``properties.start.service_point`` is the code. Staff limited to a territory
    get 404 for a service point outside it, and see only the part of the path inside it."""
    return GeoJSONResponse(traces.service_point_supply(session, actor=actor, reference=code))


# -- switching -----------------------------------------------------------------------------


@router.post("/switches/{code}/operate", response_model=SwitchRead)
def operate_switch(
    body: SwitchOperation,
    session: DbSession,
    actor: CurrentActor("network:write"),  # type: ignore[valid-type]
    code: str = CODE,
) -> SwitchRead:
    """Open or close a switch. The feeders on both sides are marked dirty and re-traced in
    the background after commit; the same state again changes nothing. A switch outside
    the caller's territory answers 404, as an unknown one."""
    done = service.operate_switch(
        session, actor=actor, code=code, open=body.open, reason=body.reason
    )
    return SwitchRead(
        code=done.switch.code,
        kind=done.switch.kind,
        is_open=done.switch.is_open,
        normal_open=done.switch.normal_open,
        changed=done.changed,
    )
