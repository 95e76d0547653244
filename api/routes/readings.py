"""Meter readings: record one, list (keyset), bulk import, estimates, consumption, rules."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from core.errors import FieldError, InputInvalidError
from meters.consumption.service import consumption_for
from meters.readings import rule_sets
from meters.readings.importer import import_readings_from_csv
from meters.readings.service import estimate_reading, list_readings, record_readings
from meters.schemas import (
    ConsumptionRead,
    ImportReportRead,
    ReadingCreate,
    ReadingOutcome,
    ReadingPage,
    ReadingRead,
    RuleSetCreate,
    RuleSetRead,
)
from meters.service import get_meter

router = APIRouter(prefix="/api/v1", tags=["readings"], responses=PROBLEM_RESPONSES)

_MORE = {404: PROBLEM_RESPONSES[422], 409: PROBLEM_RESPONSES[422]}


class EstimateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    register_id: int = Field(ge=1)
    at: AwareDatetime


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    if raw is None:
        return None
    try:
        at, _, ident = raw.rpartition("|")
        return datetime.fromisoformat(at), int(ident)
    except ValueError as exc:
        raise InputInvalidError(
            "bad cursor", errors=[FieldError("cursor", "use next_cursor")]
        ) from exc


def _page(rows: list, cursor: tuple[datetime, int] | None) -> ReadingPage:
    return ReadingPage(
        items=[ReadingRead.model_validate(r) for r in rows],
        next_cursor=f"{cursor[0].isoformat()}|{cursor[1]}" if cursor else None,
    )


@router.post("/readings", response_model=ReadingOutcome, status_code=201, responses=_MORE)
def record_reading(
    body: ReadingCreate, session: DbSession, actor: CurrentActor("meters:write")
) -> ReadingOutcome:  # type: ignore[valid-type]
    """Record one read; the answer carries its validation outcome (status, reason codes,
    rule-set version). A rejected read is stored too. Re-sending it changes nothing."""
    [outcome] = record_readings(session, readings=[body], actor=actor)
    return outcome


@router.post("/readings/imports", response_model=ImportReportRead, responses=_MORE)
def import_readings(
    session: DbSession,
    actor: CurrentActor("meters:write"),  # type: ignore[valid-type]
    file: UploadFile = File(..., description="Reading CSV"),
) -> ImportReportRead:
    """Bulk import a reading CSV (idempotent). A file with any unreadable line is refused
    whole (422 naming each bad line) and nothing is written."""
    report = import_readings_from_csv(session, file.file)
    return ImportReportRead(**{k: getattr(report, k) for k in ImportReportRead.model_fields})


@router.get("/meters/{meter_id}/readings", response_model=ReadingPage, responses=_MORE)
def meter_readings(
    meter_id: int,
    session: DbSession,
    _actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    cursor: str | None = Query(
        None, max_length=100, description="next_cursor of the previous page"
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> ReadingPage:
    """A meter's reads, newest first (keyset pagination)."""
    get_meter(session, meter_id)
    rows, after = list_readings(session, meter_id=meter_id, before=_cursor(cursor), limit=limit)
    return _page(rows, after)


@router.get("/usage-points/{usage_point_id}/readings", response_model=ReadingPage)
def usage_point_readings(
    usage_point_id: int,
    session: DbSession,
    _actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    cursor: str | None = Query(None, max_length=100),
    limit: int = Query(100, ge=1, le=1000),
) -> ReadingPage:
    """A usage point's reads across its meters, newest first (keyset pagination)."""
    rows, after = list_readings(
        session, usage_point_id=usage_point_id, before=_cursor(cursor), limit=limit
    )
    return _page(rows, after)


@router.get("/usage-points/{usage_point_id}/consumption", response_model=list[ConsumptionRead])
def usage_point_consumption(
    usage_point_id: int,
    session: DbSession,
    _actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    period_from: AwareDatetime = Query(...),
    period_to: AwareDatetime = Query(...),
) -> list[ConsumptionRead]:
    """kWh per register over [period_from, period_to), derived from the reads (rollovers and
    meter changes included)."""
    if period_to <= period_from:
        raise InputInvalidError(
            "empty period", errors=[FieldError("period_to", "must be after period_from")]
        )
    return [
        ConsumptionRead(**c.__dict__)
        for c in consumption_for(session, [usage_point_id], period_from, period_to)
    ]


@router.post("/readings/estimates", response_model=ReadingRead, status_code=201, responses=_MORE)
def estimate(
    body: EstimateRequest, session: DbSession, actor: CurrentActor("meters:write")
) -> ReadingRead:  # type: ignore[valid-type]
    """Estimate a register's index at ``at`` (method recorded); a later real read replaces it."""
    return ReadingRead.model_validate(
        estimate_reading(session, register_id=body.register_id, at=body.at, actor=actor)
    )


@router.get("/readings/rule-sets", response_model=list[RuleSetRead])
def list_rule_sets(session: DbSession, _actor: CurrentActor("meters:read")) -> list[RuleSetRead]:  # type: ignore[valid-type]
    return [RuleSetRead.model_validate(r) for r in rule_sets.rule_sets(session)]


@router.post("/readings/rule-sets", response_model=RuleSetRead, status_code=201)
def publish_rule_set(
    body: RuleSetCreate, session: DbSession, actor: CurrentActor("meters:write")
) -> RuleSetRead:  # type: ignore[valid-type]
    """Publish a new version of the validation rules and make it the active one."""
    return RuleSetRead.model_validate(
        rule_sets.publish_rule_set(session, parameters=body.parameters, name=body.name, actor=actor)
    )
