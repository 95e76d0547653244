"""Meter assets and installations: CRUD, install, remove, replace, restock, scrap.

Limited to the caller's territory (``meters.service``): 404 for a meter it does not see,
a refusal to install at a usage point outside it.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.params import Id, Limit, Offset
from api.schemas import PROBLEM_RESPONSES
from core.pages import Page
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


def _reads(session: Session, meters: list[Meter]) -> list[MeterRead]:
    registers = repository.registers_of_meters(session, [m.id for m in meters])
    return [
        MeterRead.model_validate(m).model_copy(
            update={"registers": [RegisterRead.model_validate(r) for r in registers.get(m.id, [])]}
        )
        for m in meters
    ]


def _read(session: Session, meter: Meter) -> MeterRead:
    return _reads(session, [meter])[0]


@router.post("/meters", response_model=MeterRead, status_code=201, responses=_CONFLICT)
def create_meter(
    body: MeterCreate, session: DbSession, actor: CurrentActor("meters:write")
) -> MeterRead:  # type: ignore[valid-type]
    """Register a meter asset (in stock) with its registers."""
    return _read(session, service.create_meter(session, data=body, actor=actor))


@router.get("/meters", response_model=Page[MeterRead])
def list_meters(
    session: DbSession,
    actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    status: MeterStatus | None = None,
    serial_prefix: str | None = Query(None, max_length=64),
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[MeterRead]:
    """The meters the caller sees (in its territory, or in stock), by serial."""
    meters, total = repository.meters_page(
        session, actor, status=status, serial_prefix=serial_prefix, offset=offset, limit=limit
    )
    return Page(items=_reads(session, meters), total=total, offset=offset, limit=limit)


@router.get("/meters/{meter_id}", response_model=MeterRead, responses=_CONFLICT)
def get_meter(meter_id: Id, session: DbSession, actor: CurrentActor("meters:read")) -> MeterRead:  # type: ignore[valid-type]
    return _read(session, service.get_meter(session, actor=actor, meter_id=meter_id))


@router.patch("/meters/{meter_id}", response_model=MeterRead, responses=_CONFLICT)
def update_meter(
    meter_id: Id, body: MeterUpdate, session: DbSession, actor: CurrentActor("meters:write")
) -> MeterRead:  # type: ignore[valid-type]
    return _read(session, service.update_meter(session, actor=actor, meter_id=meter_id, data=body))


@router.post(
    "/meters/{meter_id}/install",
    response_model=InstallationRead,
    status_code=201,
    responses=_CONFLICT,
)
def install_meter(
    meter_id: Id, body: InstallRequest, session: DbSession, actor: CurrentActor("meters:write")
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
    meter_id: Id, body: RemoveRequest, session: DbSession, actor: CurrentActor("meters:write")
) -> InstallationRead:  # type: ignore[valid-type]
    """Take an installed meter off its usage point with its end index."""
    installation = service.remove_meter(
        session,
        actor=actor,
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
    usage_point_id: Id,
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
    meter_id: Id,
    session: DbSession,
    actor: CurrentActor("meters:write"),  # type: ignore[valid-type]
    stock_location: str | None = Query(None, max_length=100),
) -> MeterRead:
    meter = service.restock_meter(
        session, actor=actor, meter_id=meter_id, stock_location=stock_location
    )
    return _read(session, meter)


@router.post("/meters/{meter_id}/scrap", response_model=MeterRead, responses=_CONFLICT)
def scrap_meter(meter_id: Id, session: DbSession, actor: CurrentActor("meters:write")) -> MeterRead:  # type: ignore[valid-type]
    return _read(session, service.scrap_meter(session, actor=actor, meter_id=meter_id))


@router.get(
    "/meters/{meter_id}/installations", response_model=list[InstallationRead], responses=_CONFLICT
)
def meter_installations(
    meter_id: Id, session: DbSession, actor: CurrentActor("meters:read")
) -> list[InstallationRead]:  # type: ignore[valid-type]
    """Where the meter has been fitted (the installations in the caller's territory)."""
    return [
        InstallationRead.model_validate(i)
        for i in service.installation_history(session, actor=actor, meter_id=meter_id)
    ]
