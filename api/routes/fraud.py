"""Non-technical losses: zone energy balances per transformer or feeder zone and month, the
analysts' flags (queue, evidence, lifecycle), the ranking of a scoring run, the model registry.

Limited to the caller's territory: a zone balance lies where its transformer stands or its
feeder runs (``fraud.models``); a zone the caller does not see is a 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentActor, DbSession
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.routes.network_topology import CODE
from api.schemas import PROBLEM_RESPONSES
from fraud import review, service
from fraud.enums import FlagStatus, ZoneKind
from fraud.schemas import (
    Evidence,
    FlagCreate,
    FlagPage,
    FlagRead,
    FlagStep,
    ModelVersionRead,
    Ranking,
    ZoneBalancePage,
)
from fraud.scoring import registry
from fraud.scoring import service as scoring

router = APIRouter(prefix="/api/v1/fraud", tags=["fraud"], responses=PROBLEM_RESPONSES)

# A month of the local calendar, YYYY-MM (years 1000-9999: a date the database can hold).
Month = Annotated[
    str | None, Query(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM")
]


def _month(value: str | None) -> date | None:
    return service.parse_month(value) if value else None


@router.get("/balances", response_model=ZoneBalancePage)
def list_balances(
    session: DbSession,
    actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
    zone_kind: ZoneKind | None = None,
    from_month: Month = None,
    to_month: Month = None,
    analysable: bool | None = None,
    flagged: bool | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ZoneBalancePage:
    """Zone balances of the caller's territory, newest month first: energy in, metered
    downstream, unmetered, technical loss, NTL and its share, analysable or why not, and
    whether the zone is flagged."""
    return service.list_balances(
        session,
        actor=actor,
        kind=zone_kind,
        first=_month(from_month),
        last=_month(to_month),
        analysable=analysable,
        flagged=flagged,
        offset=offset,
        limit=limit,
    )


def _zone_route(kind: ZoneKind):  # type: ignore[no-untyped-def]
    def zone_balances(
        session: DbSession,
        actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
        code: str = CODE,
        from_month: Month = None,
        to_month: Month = None,
        offset: Offset = 0,
        limit: Limit = 50,
    ) -> ZoneBalancePage:
        return service.zone_balances(
            session,
            actor=actor,
            kind=kind,
            code=code,
            first=_month(from_month),
            last=_month(to_month),
            offset=offset,
            limit=limit,
        )

    zone_balances.__doc__ = f"One {kind.value} zone's balances by month, newest first."
    return zone_balances


for _kind, _collection in ((ZoneKind.TRANSFORMER, "transformers"), (ZoneKind.FEEDER, "feeders")):
    router.get(
        f"/{_collection}/{{code}}/balances",
        response_model=ZoneBalancePage,
        responses=NOT_FOUND,
        name=f"{_kind.value}_balances",
    )(_zone_route(_kind))


# -- flags, evidence, ranking, models -------------------------------------------------------


@router.get("/flags", response_model=FlagPage)
def list_flags(
    session: DbSession,
    actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
    status: FlagStatus | None = None,
    open_only: bool = False,
    usage_point_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> FlagPage:
    """The analysts' queue: flags of the caller's territory, highest priority first."""
    return review.list_flags(
        session,
        actor=actor,
        status=status,
        open_only=open_only,
        usage_point_id=usage_point_id,
        offset=offset,
        limit=limit,
    )


@router.post("/flags", response_model=FlagRead, status_code=201, responses=CONFLICT)
def open_flag(
    data: FlagCreate,
    session: DbSession,
    actor: CurrentActor("fraud:review"),  # type: ignore[valid-type]
) -> FlagRead:
    """Raise a flag by hand (a tip); one open flag per usage point (409 otherwise)."""
    return review.open_flag(session, actor=actor, data=data)


@router.get("/flags/{flag_id}", response_model=FlagRead, responses=NOT_FOUND)
def get_flag(
    flag_id: Id,
    session: DbSession,
    actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
) -> FlagRead:
    return review.get_flag(session, actor=actor, flag_id=flag_id)


@router.get("/flags/{flag_id}/evidence", response_model=Evidence, responses=NOT_FOUND)
def flag_evidence(
    flag_id: Id,
    session: DbSession,
    actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
) -> Evidence:
    """Consumption beside the peers' median, zone balance, meter history, payments, place."""
    return review.evidence(session, actor=actor, flag_id=flag_id)


@router.post(
    "/flags/{flag_id}/transitions",
    response_model=FlagRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def step_flag(
    flag_id: Id,
    data: FlagStep,
    session: DbSession,
    actor: CurrentActor("fraud:review"),  # type: ignore[valid-type]
) -> FlagRead:
    """One step: review, requeue, send_to_inspection (emits the event), confirm or
    dismiss (decisions become labels); a step the status does not allow is a 409."""
    return review.step_flag(session, actor=actor, flag_id=flag_id, data=data)


@router.get("/ranking", response_model=Ranking)
def ranking(
    session: DbSession,
    actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
    period: Month = None,
    selected_only: bool = False,
    limit: Limit = 100,
) -> Ranking:
    """The newest scoring run's ranking (of ``period`` if given) in the caller's territory."""
    month = _month(period)
    run_id = scoring.latest_run_id(session, month)
    if run_id is None:
        return Ranking(run_id=None, period=month, items=[])
    rows = scoring.ranking_rows(
        session, actor=actor, run_id=run_id, limit=limit, selected_only=selected_only
    )
    return Ranking(run_id=run_id, period=scoring.run_period(session, run_id), items=rows)  # type: ignore[arg-type]


@router.get("/models", response_model=list[ModelVersionRead])
def models(
    session: DbSession,
    actor: CurrentActor("fraud:read"),  # type: ignore[valid-type]
) -> list[ModelVersionRead]:
    """The model registry: every trained version with its training hash and metrics."""
    return [ModelVersionRead.model_validate(v) for v in registry.versions(session)]
