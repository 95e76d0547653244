"""Meter readings: record one, list (keyset), bulk import, estimates, consumption, rules.

Limited to the caller's territory (``meters.service``): the feeds and consumption of a
meter or usage point it does not see are 404s; a read or estimate falling on a usage
point outside it is refused.
"""

from __future__ import annotations

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import AwareDatetime

from api.deps import CurrentActor, DbSession
from api.params import Cursor, Id, Limit
from api.schemas import PROBLEM_RESPONSES
from meters import service
from meters.models import Reading
from meters.readings import rule_sets
from meters.schemas import (
    ConsumptionRead,
    EstimateRequest,
    ImportReportRead,
    ReadingCreate,
    ReadingOutcome,
    ReadingPage,
    ReadingRead,
    RuleSetCreate,
    RuleSetRead,
)

router = APIRouter(prefix="/api/v1", tags=["readings"], responses=PROBLEM_RESPONSES)

_MORE = {404: PROBLEM_RESPONSES[422], 409: PROBLEM_RESPONSES[422]}


def _page(rows: list[Reading], cursor: int | None) -> ReadingPage:
    return ReadingPage(items=[ReadingRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/readings", response_model=ReadingOutcome, status_code=201, responses=_MORE)
def record_reading(
    body: ReadingCreate, session: DbSession, actor: CurrentActor("meters:write")
) -> ReadingOutcome:  # type: ignore[valid-type]
    """Record one read; the answer carries its validation outcome (status, reason codes,
    rule-set version). A rejected read is stored too. Re-sending it changes nothing."""
    return service.record_reading(session, actor=actor, reading=body)


@router.post("/readings/imports", response_model=ImportReportRead, responses=_MORE)
def import_readings(
    session: DbSession,
    actor: CurrentActor("meters:write"),  # type: ignore[valid-type]
    file: UploadFile = File(..., description="Reading CSV"),
) -> ImportReportRead:
    """Bulk import a reading CSV (idempotent). A file with any unreadable line is refused
    whole (422 naming each bad line) and nothing is written. Staff bound to a territory
    are refused (403): the bulk pipeline does not check territory line by line yet."""
    report = service.import_readings(session, actor=actor, source=file.file)
    return ImportReportRead(**{k: getattr(report, k) for k in ImportReportRead.model_fields})


@router.get("/meters/{meter_id}/readings", response_model=ReadingPage, responses=_MORE)
def meter_readings(
    meter_id: Id,
    session: DbSession,
    actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    cursor: Cursor = None,
    limit: Limit = 100,
) -> ReadingPage:
    """A meter's reads, newest first (keyset pagination)."""
    rows, after = service.readings_of_meter(
        session, actor=actor, meter_id=meter_id, after=cursor, limit=limit
    )
    return _page(rows, after)


@router.get("/usage-points/{usage_point_id}/readings", response_model=ReadingPage, responses=_MORE)
def usage_point_readings(
    usage_point_id: Id,
    session: DbSession,
    actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    cursor: Cursor = None,
    limit: Limit = 100,
) -> ReadingPage:
    """A usage point's reads across its meters, newest first (keyset pagination)."""
    rows, after = service.readings_of_usage_point(
        session, actor=actor, usage_point_id=usage_point_id, after=cursor, limit=limit
    )
    return _page(rows, after)


@router.get(
    "/usage-points/{usage_point_id}/consumption",
    response_model=list[ConsumptionRead],
    responses=_MORE,
)
def usage_point_consumption(
    usage_point_id: Id,
    session: DbSession,
    actor: CurrentActor("meters:read"),  # type: ignore[valid-type]
    period_from: AwareDatetime = Query(...),
    period_to: AwareDatetime = Query(...),
) -> list[ConsumptionRead]:
    """kWh per register over [period_from, period_to), derived from the reads (rollovers and
    meter changes included)."""
    consumption = service.usage_point_consumption(
        session,
        actor=actor,
        usage_point_id=usage_point_id,
        period_from=period_from,
        period_to=period_to,
    )
    return [ConsumptionRead(**c.__dict__) for c in consumption]


@router.post("/readings/estimates", response_model=ReadingRead, status_code=201, responses=_MORE)
def estimate(
    body: EstimateRequest, session: DbSession, actor: CurrentActor("meters:write")
) -> ReadingRead:  # type: ignore[valid-type]
    """Estimate a register's index at ``at`` (method recorded); a later real read replaces it."""
    return ReadingRead.model_validate(
        service.estimate(session, actor=actor, register_id=body.register_id, at=body.at)
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
