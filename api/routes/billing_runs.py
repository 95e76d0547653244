"""Billing runs: prepare (select), simulate with the control report, approve (a second
person), issue, follow the progress. A run belongs to the agency it selects (404 to other
agencies); its items are seen where their usage point is."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CurrentActor, DbSession
from api.params import CONFLICT, NOT_FOUND, Limit, Offset
from api.schemas import PROBLEM_RESPONSES
from billing.runs import runner, service
from billing.runs.control import Check
from billing.runs.models import ITEM_STATUSES, BillingRun
from billing.runs.schemas import RunCreate, RunDecision, RunItemRead, RunProgress, RunRead
from core.pages import BIGINT_MAX, Page

# The item statuses as an enum, so the OpenAPI lists them.
ItemStatus = StrEnum("ItemStatus", {s: s for s in ITEM_STATUSES})  # type: ignore[misc]

router = APIRouter(prefix="/api/v1", tags=["billing runs"], responses=PROBLEM_RESPONSES)

RunId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
_STEP = {**NOT_FOUND, **CONFLICT}


@router.post("/billing-runs", response_model=RunRead, status_code=201)
def create_run(
    body: RunCreate,
    session: DbSession,
    actor: CurrentActor("billing:run"),  # type: ignore[valid-type]
) -> BillingRun:
    """Prepare a run: its usage points are selected at once (status ``draft``)."""
    return service.create_run(session, actor, body)


@router.get("/billing-runs/{billing_run_id}", response_model=RunRead, responses=NOT_FOUND)
def get_run(
    billing_run_id: RunId,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> BillingRun:
    return service.get_run(session, actor, billing_run_id)


@router.get(
    "/billing-runs/{billing_run_id}/status", response_model=RunProgress, responses=NOT_FOUND
)
def run_status(
    billing_run_id: RunId,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> RunProgress:
    """Progress: items by status and by control check, chunks simulated and issued,
    totals simulated and issued per currency (minor units)."""
    return service.progress(session, actor, billing_run_id)


@router.get(
    "/billing-runs/{billing_run_id}/items", response_model=Page[RunItemRead], responses=NOT_FOUND
)
def run_items(
    billing_run_id: RunId,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    status: ItemStatus | None = Query(None, description="selected, ready, parked ..."),
    check: Check | None = Query(None, description="a control check's code"),
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[RunItemRead]:
    """The control report: the run's items, optionally those parked, or those one check
    flagged; drill down to the customer by ``usage_point_id``."""
    items, total = service.control_report(
        session,
        actor,
        billing_run_id,
        status=status.value if status else None,
        check=check.value if check else None,
        offset=offset,
        limit=limit,
    )
    return Page(
        items=[RunItemRead.model_validate(i) for i in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.post("/billing-runs/{billing_run_id}/simulate", response_model=RunProgress, responses=_STEP)
def simulate_run(
    billing_run_id: RunId,
    session: DbSession,
    actor: CurrentActor("billing:run"),  # type: ignore[valid-type]
) -> RunProgress:
    """Simulate (or re-simulate) the run with the rating function the issue uses and run
    the control checks; with a broker the chunks go to the workers (follow ``/status``)."""
    return runner.simulate(session, actor, billing_run_id)


@router.post("/billing-runs/{billing_run_id}/approve", response_model=RunRead, responses=_STEP)
def approve_run(
    billing_run_id: RunId,
    body: RunDecision,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> BillingRun:
    """Approve a simulated run: refused (403 ``billing_run_approver_is_preparer``) to the
    person who prepared it."""
    return service.approve(session, actor, billing_run_id, body.note)


@router.post("/billing-runs/{billing_run_id}/issue", response_model=RunProgress, responses=_STEP)
def issue_run(
    billing_run_id: RunId,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> RunProgress:
    """Issue an approved run (or resume an interrupted issue); an issued run is left as it
    is, so calling this twice bills nothing twice."""
    return runner.issue(session, actor, billing_run_id)


@router.post("/billing-runs/{billing_run_id}/cancel", response_model=RunRead, responses=_STEP)
def cancel_run(
    billing_run_id: RunId,
    body: RunDecision,
    session: DbSession,
    actor: CurrentActor("billing:run"),  # type: ignore[valid-type]
) -> BillingRun:
    return service.cancel(session, actor, billing_run_id, body.note)
