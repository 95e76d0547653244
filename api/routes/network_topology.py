"""Network topology over HTTP: import and export feeders, traces as RFC 7946 GeoJSON,
switch operations."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from gis import catalogue, service
from gis.errors import AssetNotFoundError, FeederNotFoundError, NetworkFormatUnsupportedError
from gis.io.export import EXPORT_FORMATS
from gis.topology import trace
from gis.trace_geojson import trace_feature_collection

router = APIRouter(
    prefix="/api/v1/network",
    tags=["network topology"],
    responses={**PROBLEM_RESPONSES, 404: PROBLEM_RESPONSES[422]},
)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
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

_SUFFIX_FORMAT = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "opendss"}


def _save_upload(upload: UploadFile, folder: Path) -> Path:
    name = PurePosixPath((upload.filename or "upload").replace("\\", "/")).name or "upload"
    suffix = Path(name).suffix.lower()
    if suffix not in _SUFFIX_FORMAT:
        raise NetworkFormatUnsupportedError(
            f"upload a .geojson, .gpkg or a .zip of an OpenDSS folder, not {name!r}"
        )
    target = folder / f"upload{suffix}"
    written = 0
    with target.open("wb") as sink:
        while chunk := upload.file.read(1024 * 1024):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise NetworkFormatUnsupportedError("the upload is larger than 200 MB")
            sink.write(chunk)
    return target


def _unzip(archive: Path, folder: Path) -> Path:
    """Extract safely (no absolute or parent paths, bounded size); return the OpenDSS folder
    (the one holding Master*.dss) or the single GeoJSON / GeoPackage inside."""
    target = folder / "unzipped"
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES or len(members) > 10_000:
                raise NetworkFormatUnsupportedError("the zip is too large once extracted")
            for member in members:
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if member.filename.startswith(("/", "\\")) or ".." in parts:
                    raise NetworkFormatUnsupportedError(f"unsafe path in zip: {member.filename!r}")
            bundle.extractall(target)
    except zipfile.BadZipFile as exc:
        raise NetworkFormatUnsupportedError(f"not a zip file: {exc}") from None
    masters = sorted(p for p in target.rglob("*.dss") if p.name.lower().startswith("master"))
    if masters:
        return masters[0].parent
    files = sorted(p for p in target.rglob("*") if p.suffix.lower() in {".geojson", ".gpkg"})
    if len(files) == 1:
        return files[0]
    raise NetworkFormatUnsupportedError("the zip holds no OpenDSS Master*.dss file")


@router.post("/imports", status_code=201, response_model=ImportReportRead)
def import_feeder(
    session: DbSession,
    _actor: CurrentActor("network:import"),  # type: ignore[valid-type]
    file: UploadFile = File(..., description=".geojson, .gpkg or a .zip of an OpenDSS folder"),
    format: Literal["geojson", "gpkg", "opendss"] | None = Form(None),
    crs: str | None = Form(None, max_length=100, description="e.g. EPSG:31983"),
) -> ImportReportRead:
    """Import (or re-import) a feeder in one transaction. A file with bad records answers
    422 ``network_import_invalid`` listing each record, and writes nothing."""
    folder = Path(tempfile.mkdtemp(prefix="kw-import-"))
    try:
        path = _save_upload(file, folder)
        if path.suffix == ".zip":
            path = _unzip(path, folder)
        report = service.import_network(session, path=path, format=format, crs=crs)
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
    _actor: CurrentActor("network:read"),  # type: ignore[valid-type]
    code: str = CODE,
    format: Literal["geojson", "gpkg"] = Query("geojson"),
) -> Response:
    """The feeder as a GeoJSON or GeoPackage file (EPSG:4326), re-importable as is."""
    data = service.export_feeder(session, code=code, format=format)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in code)
    return Response(
        data,
        media_type=EXPORT_FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="{safe}.{format}"'},
    )


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
    agency = catalogue.territory_agency(session, actor.agency_id)
    if agency is not None and not catalogue.is_visible(
        session, catalogue.KINDS["feeders"], code, agency_id=agency
    ):
        raise FeederNotFoundError(f"no feeder with code {code!r}")
    result = trace(session, feeder_code=code, direction=direction)
    return GeoJSONResponse(
        trace_feature_collection(session, result, {"start": {"feeder": code}}, agency_id=agency)
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
    resolved = catalogue.service_point_code(session, code)
    agency = catalogue.territory_agency(session, actor.agency_id)
    if resolved is None or (
        agency is not None
        and not catalogue.is_visible(
            session, catalogue.KINDS["service-points"], resolved, agency_id=agency
        )
    ):
        raise AssetNotFoundError(f"no service point with code or id {code!r}")
    result = trace(session, start=("service_point", resolved), direction="upstream")
    return GeoJSONResponse(
        trace_feature_collection(
            session, result, {"start": {"service_point": resolved}}, agency_id=agency
        )
    )


# -- switching -----------------------------------------------------------------------------


@router.post("/switches/{code}/operate", response_model=SwitchRead)
def operate_switch(
    body: SwitchOperation,
    session: DbSession,
    actor: CurrentActor("network:write"),  # type: ignore[valid-type]
    code: str = CODE,
) -> SwitchRead:
    """Open or close a switch. The feeders on both sides are marked dirty and re-traced in
    the background after commit; the same state again changes nothing."""
    before = session.execute(
        text("SELECT is_open FROM gis_switch WHERE code = :c"), {"c": code}
    ).scalar()
    switch = service.operate_switch(
        session, actor=actor, code=code, open=body.open, reason=body.reason
    )
    return SwitchRead(
        code=switch.code,
        kind=switch.kind,
        is_open=switch.is_open,
        normal_open=switch.normal_open,
        changed=before != switch.is_open,
    )
