"""Meter assets and installations: CRUD, install, remove, replace, restock, scrap."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from meters import repository, service
from meters.enums import MeterStatus
from meters.models import Meter
from meters.schemas import (
    InstallationRead,
    InstallRequest,
    MeterCreate,
    MeterRead,
    MeterUpdate,
    RegisterRead,
    RemoveRequest,
    ReplaceRequest,
)

router = APIRouter(prefix="/api/v1", tags=["meters"], responses=PROBLEM_RESPONSES)

_CONFLICT = {409: PROBLEM_RESPONSES[422], 404: PROBLEM_RESPONSES[422]}


def _read(session: Session, meter: Meter) -> MeterRead:
    registers = [RegisterRead.model_validate(r) for r in repository.registers_of(session, meter.id)]
    return MeterRead.model_validate(meter).model_copy(update={"registers": registers})


@router.post("/meters", response_model=MeterRead, status_code=201, responses=_CONFLICT)
def create_meter(
    body: MeterCreate, session: DbSession, actor: CurrentActor("meters:write")
) -> MeterRead:  # type: ignore[valid-type]
    """Register a meter asset (in stock) with its registers."""
    return _read(session, service.create_meter(session, data=body, actor=actor))


@router.get("/meters", response_model=list[MeterRead])
def list_meters(
    session: DbSession,
    _actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    status: MeterStatus | None = None,
    serial_prefix: str | None = Query(None, max_length=64),
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
) -> list[MeterRead]:
    meters = repository.list_meters(
        session, status=status, serial_prefix=serial_prefix, offset=offset, limit=limit
    )
    return [_read(session, m) for m in meters]


@router.get("/meters/{meter_id}", response_model=MeterRead, responses=_CONFLICT)
def get_meter(meter_id: int, session: DbSession, _actor: CurrentActor("meters:read")) -> MeterRead:  # type: ignore[valid-type]
    return _read(session, service.get_meter(session, meter_id))


@router.patch("/meters/{meter_id}", response_model=MeterRead, responses=_CONFLICT)
def update_meter(
    meter_id: int, body: MeterUpdate, session: DbSession, _actor: CurrentActor("meters:write")
) -> MeterRead:  # type: ignore[valid-type]
    return _read(session, service.update_meter(session, meter_id=meter_id, data=body))


@router.post(
    "/meters/{meter_id}/install",
    response_model=InstallationRead,
    status_code=201,
    responses=_CONFLICT,
)
def install_meter(
    meter_id: int, body: InstallRequest, session: DbSession, actor: CurrentActor("meters:write")
) -> InstallationRead:  # type: ignore[valid-type]
    """Fit an in-stock (or removed) meter at a usage point with its start index."""
    installation = service.install_meter(
        session,
        meter_id=meter_id,
        usage_point_id=body.usage_point_id,
        installed_at=body.installed_at,
        start_index=body.start_index,
        register_set=body.register_set.value,
        actor=actor,
    )
    return InstallationRead.model_validate(installation)


@router.post("/meters/{meter_id}/remove", response_model=InstallationRead, responses=_CONFLICT)
def remove_meter(
    meter_id: int, body: RemoveRequest, session: DbSession, _actor: CurrentActor("meters:write")
) -> InstallationRead:  # type: ignore[valid-type]
    """Take an installed meter off its usage point with its end index."""
    installation = service.remove_meter(
        session,
        meter_id=meter_id,
        removed_at=body.removed_at,
        end_index=body.end_index,
        reason=body.reason,
        to_stock_location=body.to_stock_location,
    )
    return InstallationRead.model_validate(installation)


@router.post(
    "/usage-points/{usage_point_id}/replace-meter",
    response_model=InstallationRead,
    status_code=201,
    responses=_CONFLICT,
)
def replace_meter(
    usage_point_id: int,
    body: ReplaceRequest,
    session: DbSession,
    actor: CurrentActor("meters:write"),
) -> InstallationRead:  # type: ignore[valid-type]
    """Swap the usage point's active meter for another: old end index, new start index."""
    installation = service.replace_meter(
        session,
        usage_point_id=usage_point_id,
        new_meter_id=body.new_meter_id,
        replaced_at=body.replaced_at,
        old_end_index=body.old_end_index,
        new_start_index=body.new_start_index,
        register_set=body.register_set.value,
        reason=body.reason,
        actor=actor,
    )
    return InstallationRead.model_validate(installation)


@router.post("/meters/{meter_id}/restock", response_model=MeterRead, responses=_CONFLICT)
def restock_meter(
    meter_id: int,
    session: DbSession,
    _actor: CurrentActor("meters:write"),  # type: ignore[valid-type]
    stock_location: str | None = Query(None, max_length=100),
) -> MeterRead:
    return _read(
        session, service.restock_meter(session, meter_id=meter_id, stock_location=stock_location)
    )


@router.post("/meters/{meter_id}/scrap", response_model=MeterRead, responses=_CONFLICT)
def scrap_meter(
    meter_id: int, session: DbSession, _actor: CurrentActor("meters:write")
) -> MeterRead:  # type: ignore[valid-type]
    return _read(session, service.scrap_meter(session, meter_id=meter_id))


@router.get(
    "/meters/{meter_id}/installations", response_model=list[InstallationRead], responses=_CONFLICT
)
def meter_installations(
    meter_id: int, session: DbSession, _actor: CurrentActor("meters:read")
) -> list[InstallationRead]:  # type: ignore[valid-type]
    return [
        InstallationRead.model_validate(i)
        for i in service.installation_history(session, meter_id=meter_id)
    ]
