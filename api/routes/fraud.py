"""Zone energy balances (non-technical losses) per transformer or feeder zone and month.

Limited to the caller's territory: a zone balance lies where its transformer stands or its
feeder runs (``fraud.models``); a zone the caller does not see is a 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentActor, DbSession
from api.params import NOT_FOUND, Limit, Offset
from api.routes.network_topology import CODE
from api.schemas import PROBLEM_RESPONSES
from fraud import service
from fraud.enums import ZoneKind
from fraud.schemas import ZoneBalancePage

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
