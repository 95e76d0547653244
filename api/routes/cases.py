"""Customer cases (SLA clocks in working days, status history, assignment rules, task
lists) and interactions (every contact with a customer)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import CurrentActor, DbSession
from api.params import CONFLICT, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.pages import Page, paginate
from customers import repository, service
from customers.enums import CaseStatus, CaseType
from customers.schemas import (
    AssignmentRuleCreate,
    AssignmentRuleRead,
    CaseAssignRequest,
    CaseCreate,
    CaseRead,
    CaseStatusChangeRead,
    CaseStepRequest,
    CaseUpdate,
    InteractionCreate,
    InteractionRead,
)

router = APIRouter(prefix="/api/v1", tags=["cases"], responses=PROBLEM_RESPONSES)


@router.post("/cases", response_model=CaseRead, status_code=201)
def open_case(
    body: CaseCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> CaseRead:
    """Open a case; its due date (working days, public holidays excluded) is fixed now and
    the assignment rules of its type and agency pick the assignee."""
    return CaseRead.model_validate(service.open_case(session, actor=actor, data=body))


@router.get("/cases", response_model=Page[CaseRead])
def list_cases(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    case_type: CaseType | None = None,
    status: Annotated[list[CaseStatus] | None, Query(max_length=6)] = None,
    agency_id: OptionalId = None,
    party_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[CaseRead]:
    query = repository.cases_query(
        actor,
        case_type=case_type.value if case_type else None,
        status=[s.value for s in status] if status else None,
        agency_id=agency_id,
        party_id=party_id,
    )
    rows, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=[CaseRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit
    )


@router.get("/cases/tasks", response_model=Page[CaseRead])
def task_list(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    assignee: Literal["me", "group"] = "me",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[CaseRead]:
    """Open cases waiting for the caller (``me``) or for one of the caller's roles
    (``group``), soonest due first."""
    query = service.task_list_query(session, actor=actor, assignee=assignee)
    rows, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=[CaseRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit
    )


@router.get("/cases/assignment-rules", response_model=list[AssignmentRuleRead])
def list_rules(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> list[AssignmentRuleRead]:
    """The rules of the caller's agency and the general ones (every agency)."""
    rules = repository.rules(session, actor)
    return [AssignmentRuleRead.model_validate(r) for r in rules]


@router.post(
    "/cases/assignment-rules",
    response_model=AssignmentRuleRead,
    status_code=201,
    responses=CONFLICT,
)
def create_rule(
    body: AssignmentRuleCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> AssignmentRuleRead:
    """New cases of ``case_type`` in ``agency_id`` (every agency when omitted) go to a user
    or a group (a role). The agency's own rule wins over the general one."""
    return AssignmentRuleRead.model_validate(service.create_rule(session, actor=actor, data=body))


@router.delete("/cases/assignment-rules/{rule_id}", status_code=204)
def delete_rule(
    rule_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> Response:
    service.delete_rule(session, actor=actor, rule_id=rule_id)
    return Response(status_code=204)


@router.get("/cases/{case_id}", response_model=CaseRead)
def read_case(
    case_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> CaseRead:
    return CaseRead.model_validate(repository.get_case(session, actor, case_id))


@router.patch("/cases/{case_id}", response_model=CaseRead)
def update_case(
    case_id: Id,
    body: CaseUpdate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> CaseRead:
    return CaseRead.model_validate(
        service.update_case(session, actor=actor, case_id=case_id, data=body)
    )


@router.post("/cases/{case_id}/transitions", response_model=CaseRead, responses=CONFLICT)
def step_case(
    case_id: Id,
    body: CaseStepRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> CaseRead:
    """start, wait_customer, resolve (stops the SLA clock), reopen, close, cancel."""
    return CaseRead.model_validate(
        service.step_case(session, actor=actor, case_id=case_id, data=body)
    )


@router.post("/cases/{case_id}/assign", response_model=CaseRead, responses=CONFLICT)
def assign_case(
    case_id: Id,
    body: CaseAssignRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> CaseRead:
    return CaseRead.model_validate(
        service.assign_case(session, actor=actor, case_id=case_id, data=body)
    )


@router.get("/cases/{case_id}/history", response_model=list[CaseStatusChangeRead])
def case_history(
    case_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> list[CaseStatusChangeRead]:
    history = repository.case_history(session, actor, case_id)
    return [CaseStatusChangeRead.model_validate(c) for c in history]


@router.post("/interactions", response_model=InteractionRead, status_code=201)
def log_interaction(
    body: InteractionCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> InteractionRead:
    """Log a contact with a customer (phone, desk, e-mail, SMS, field, web)."""
    return InteractionRead.model_validate(service.log_interaction(session, actor=actor, data=body))


@router.get("/interactions", response_model=Page[InteractionRead])
def list_interactions(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    party_id: OptionalId = None,
    case_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[InteractionRead]:
    query = repository.interactions_query(actor, party_id=party_id, case_id=case_id)
    rows, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=[InteractionRead.model_validate(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/interactions/{interaction_id}", response_model=InteractionRead)
def read_interaction(
    interaction_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> InteractionRead:
    interaction = repository.get_interaction(session, actor, interaction_id)
    return InteractionRead.model_validate(interaction)
