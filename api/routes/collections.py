"""Collections: dunning policies, an account's collection file, holds, payment plans,
write-offs (asked by one person, approved by another), litigation and the cut
eligibility list (JSON or CSV). Account-bound records are seen where the account is."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import CurrentActor, DbSession
from api.downloads import attachment
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from billing.collections import plans, policies, repository, service, views, write_offs
from billing.collections.schemas import (
    AgedDebt,
    FileRead,
    HoldCreate,
    HoldRead,
    LitigationCreate,
    PlanCreate,
    PlanRead,
    PlanView,
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    TimelineEvent,
    WorklistRow,
    WriteOffCreate,
    WriteOffDecision,
    WriteOffRead,
)
from core.pages import Page
from core.settings import get_settings
from revenue_protection import supply_policy
from revenue_protection.schemas import CutListRow

router = APIRouter(prefix="/api/v1/collections", tags=["collections"], responses=PROBLEM_RESPONSES)


@router.get("/policies", response_model=list[PolicyRead])
def list_policies(
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
) -> list[PolicyRead]:
    """Every dunning policy with its ordered steps."""
    return [service.policy_read(session, p) for p in repository.policies(session, actor)]


@router.post("/policies", response_model=PolicyRead, status_code=201)
def create_policy(
    data: PolicyCreate,
    session: DbSession,
    actor: CurrentActor("collections:write"),  # type: ignore[valid-type]
) -> PolicyRead:
    """A policy for a customer category and agency (either may be left out: any)."""
    return service.policy_read(session, service.create_policy(session, actor, data=data))


@router.get("/accounts/{account_id}", response_model=FileRead, responses=NOT_FOUND)
def account_file(
    account_id: Id,
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
) -> FileRead:
    """An account's collection file: status, amount overdue, steps done, next step and
    its day, holds, payment plan."""
    return service.file_of(session, actor, account_id)


@router.post("/holds", response_model=HoldRead, status_code=201)
def add_hold(
    data: HoldCreate,
    session: DbSession,
    actor: CurrentActor("collections:write"),  # type: ignore[valid-type]
) -> HoldRead:
    """Stop the steps named in ``blocks`` (step actions or codes, ``*``: all) for one
    account, or (regulatory) for every account."""
    return HoldRead.model_validate(service.add_hold(session, actor, data=data))


@router.post("/plans", response_model=PlanRead, status_code=201, responses=CONFLICT)
def create_plan(
    data: PlanCreate,
    session: DbSession,
    actor: CurrentActor("collections:write"),  # type: ignore[valid-type]
) -> PlanRead:
    """Agree a payment plan over open items: down payment, monthly instalments."""
    plan = plans.create_plan(
        session,
        actor,
        customer_account_id=data.customer_account_id,
        item_ids=data.item_ids,
        down_payment=data.down_payment,
        instalments=data.instalments,
        first_due_date=data.first_due_date,
        agreed_on=data.agreed_on,
        interest_rate=data.interest_rate,
        grace_days=data.grace_days,
    )
    return service.file_of(session, actor, plan.customer_account_id).plan  # type: ignore[return-value]


@router.post("/write-offs", response_model=WriteOffRead, status_code=201)
def request_write_off(
    data: WriteOffCreate,
    session: DbSession,
    actor: CurrentActor("collections:write"),  # type: ignore[valid-type]
) -> WriteOffRead:
    """Ask to write off an uncollectable debt (default: the whole balance)."""
    row = write_offs.request_write_off(
        session,
        actor,
        customer_account_id=data.customer_account_id,
        reason=data.reason,
        amount=data.amount,
    )
    return WriteOffRead.model_validate(row)


@router.post(
    "/write-offs/{write_off_id}/decision",
    response_model=WriteOffRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def decide_write_off(
    write_off_id: Id,
    data: WriteOffDecision,
    session: DbSession,
    actor: CurrentActor("collections:approve"),  # type: ignore[valid-type]
) -> WriteOffRead:
    """Approve (post to the ledger) or reject a write-off; never by the one who asked."""
    row = write_offs.get_write_off(session, actor, write_off_id)
    return WriteOffRead.model_validate(
        write_offs.decide_write_off(session, actor, row, approve=data.approve, on=data.on)
    )


@router.post("/litigation", status_code=201)
def open_litigation(
    data: LitigationCreate,
    session: DbSession,
    actor: CurrentActor("collections:write"),  # type: ignore[valid-type]
) -> dict[str, int]:
    """Hand an account to a bailiff or a lawyer with its open items as documents."""
    row = write_offs.open_litigation(
        session,
        actor,
        customer_account_id=data.customer_account_id,
        on=data.on,
        handler_kind=data.handler_kind,
        handler_name=data.handler_name,
    )
    return {"id": row.id, "amount": row.amount}


def _with_actions(session: DbSession, rows: list[dict], on: date) -> list[CutListRow]:
    """Each row with what a visit would do there: cut, or reduce instead (revenue
    protection's policy in force)."""
    actions = supply_policy.for_accounts(session, [r["customer_account_id"] for r in rows], on)
    return [
        CutListRow.model_validate(
            {**r, "supply_action": actions[r["customer_account_id"]][0],
             "limit_kva": actions[r["customer_account_id"]][1]}
        )
        for r in rows
    ]  # fmt: skip


@router.get("/cut-eligible", response_model=Page[CutListRow])
def cut_eligible(
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
    on: Annotated[date | None, Query(description="business day (default: today)")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[CutListRow]:
    """Accounts whose dunning allows a cut that day (holds excluded), largest debt first;
    each says whether the visit cuts or reduces the power (the policy in force)."""
    day = on or service.today()
    rows, total = repository.cut_eligible(session, actor, on=day, limit=limit, offset=offset)
    return Page(
        items=_with_actions(session, rows, day),
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/cut-eligible.csv", response_class=Response)
def cut_eligible_csv(
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
    on: Annotated[date | None, Query(description="business day (default: today)")] = None,
) -> Response:
    """The cut eligibility list as CSV (every row, for a campaign), with the cut-or-reduce
    decision of each."""
    day = on or service.today()
    rows, _total = repository.cut_eligible(session, actor, on=day, limit=100_000, offset=0)
    out = io.StringIO()
    fields = list(CutListRow.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in _with_actions(session, rows, day):
        writer.writerow(row.model_dump())
    return attachment(out.getvalue(), "cut-eligible.csv", "text/csv")


@router.put("/policies/{policy_id}", response_model=PolicyRead, responses=NOT_FOUND)
def update_policy(
    policy_id: Id,
    data: PolicyUpdate,
    session: DbSession,
    actor: CurrentActor("collections:write"),  # type: ignore[valid-type]
) -> PolicyRead:
    """Edit a policy (all but its code) and its steps; the files it moves are recomputed."""
    policy = service.get_policy(session, policy_id)
    return service.policy_read(session, policies.update_policy(session, actor, policy, data=data))


@router.get("/aged-debt", response_model=AgedDebt)
def aged_debt(
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
    on: Annotated[date | None, Query(description="business day (default: today)")] = None,
    agency_id: OptionalId = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
) -> AgedDebt:
    """Open amounts past due by age bucket, agency and category, with totals."""
    result = views.aged_debt(
        session, actor, on=on or service.today(), agency_id=agency_id, category=category
    )
    return AgedDebt.model_validate({**result, "currency": get_settings().currency})


@router.get("/worklist", response_model=Page[WorklistRow])
def worklist(
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
    on: Annotated[date | None, Query(description="business day (default: today)")] = None,
    agency_id: OptionalId = None,
    sort: Annotated[Literal["amount", "age"], Query()] = "amount",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[WorklistRow]:
    """The collector's worklist: accounts at a step, their next action, largest or oldest
    debt first."""
    rows, total = views.worklist(
        session,
        actor,
        on=on or service.today(),
        agency_id=agency_id,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return Page(
        items=[WorklistRow.model_validate(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/plans/{plan_id}", response_model=PlanView, responses=NOT_FOUND)
def plan_view(
    plan_id: Id,
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
) -> PlanView:
    """A payment plan: instalments, what its items have been paid since, what is due."""
    return service.plan_view(session, actor, plan_id)


@router.get(
    "/accounts/{account_id}/timeline", response_model=list[TimelineEvent], responses=NOT_FOUND
)
def account_timeline(
    account_id: Id,
    session: DbSession,
    actor: CurrentActor("collections:read"),  # type: ignore[valid-type]
) -> list[TimelineEvent]:
    """An account's collection history, oldest first."""
    return service.timeline_of(session, actor, account_id)
