"""Cases (with SLA clocks in working days, status history and assignment rules) and
interactions (every contact with a customer). Functions flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, nulls_last, or_, select, update
from sqlalchemy.orm import Session

from core.auth.models import Agency, User
from core.auth.scopes import Role
from core.context import Actor
from core.db import state_reason
from core.errors import FieldError
from core.flush import by_constraint, flush_guarded
from core.outbox import emit
from core.pages import paginate
from core.territory import OutsideTerritoryError, agency_allowed, scope_of
from customers import repository
from customers.enums import OPEN_CASE_STATUSES, CaseStatus, CaseType
from customers.errors import (
    AgencyUnknownError,
    CaseAssigneeInvalidError,
    CaseAssignmentRuleExistsError,
    CaseNotFoundError,
    ReferenceUnknownError,
    ServiceLocationNotFoundError,
    UsagePointNotFoundError,
    ValueOutOfRangeError,
)
from customers.events import CaseClosed
from customers.machines import CASE
from customers.models import Case, CaseAssignmentRule, Interaction, ServiceLocation
from customers.numbering import next_case_number
from customers.party_service import require_party
from customers.schemas import (
    AssignmentRuleCreate,
    CaseAssignRequest,
    CaseCreate,
    CaseStepRequest,
    CaseUpdate,
    InteractionCreate,
)
from customers.sla import SLA_WORKING_DAYS, add_working_days, is_breached, local_date

# Clocks of client devices drift: a timestamp a little in the future is still "now".
CLOCK_SKEW = timedelta(minutes=5)


# Back-dated paper forms are fine; a date decades ago is a typing mistake.
MAX_BACKDATING = timedelta(days=5 * 366)


def _not_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + CLOCK_SKEW:
        raise ValueOutOfRangeError(
            f"{field} is in the future", errors=[FieldError(field, "in the future", "in_future")]
        )
    if moment < now - MAX_BACKDATING:
        raise ValueOutOfRangeError(
            f"{field} is more than five years ago",
            errors=[FieldError(field, "more than five years ago", "too_old")],
        )


def _unknown(field: str, message: str) -> ReferenceUnknownError:
    return ReferenceUnknownError(message, errors=[FieldError(field, message, "reference_unknown")])


def _agency_of_location(session: Session, location_id: int) -> int | None:
    """The agency whose territory holds the premises (lowest id if territories overlap)."""
    return session.scalar(
        select(Agency.id)
        .join(ServiceLocation, func.ST_Intersects(Agency.territory, ServiceLocation.geom))
        .where(ServiceLocation.id == location_id)
        .order_by(Agency.id)
        .limit(1)
    )


def assignment_rule_for(
    session: Session, case_type: str, agency_id: int | None
) -> CaseAssignmentRule | None:
    """The agency's own rule for the type, else the rule for every agency."""
    return session.scalar(
        select(CaseAssignmentRule)
        .where(
            CaseAssignmentRule.case_type == case_type,
            or_(CaseAssignmentRule.agency_id == agency_id, CaseAssignmentRule.agency_id.is_(None)),
        )
        .order_by(nulls_last(CaseAssignmentRule.agency_id.desc()))
        .limit(1)
    )


def open_case(
    session: Session, *, actor: Actor, data: CaseCreate, now: datetime | None = None
) -> Case:
    """Open a case: its due date is fixed now, ``SLA_WORKING_DAYS`` working days after the
    local day it was raised, and it goes to whoever the assignment rules name."""
    now = now or datetime.now(UTC)
    opened_at = data.opened_at or now
    _not_future(opened_at, now, "opened_at")
    if data.party_id is not None:
        require_party(session, actor, data.party_id, "party_id")
    location_id = data.service_location_id
    if data.usage_point_id is not None:
        try:
            usage_point = repository.get_usage_point(session, actor, data.usage_point_id)
        except UsagePointNotFoundError as exc:
            raise _unknown("usage_point_id", f"no usage point {data.usage_point_id}") from exc
        if location_id is not None and location_id != usage_point.service_location_id:
            raise _unknown("service_location_id", "the usage point is at other premises")
        location_id = usage_point.service_location_id
    if location_id is not None:
        try:
            repository.get_location(session, actor, location_id)
        except ServiceLocationNotFoundError as exc:
            raise _unknown("service_location_id", f"no premises {location_id}") from exc
    agency_id = data.agency_id
    if agency_id is not None:
        _require_agency(session, actor, agency_id, "a case")
    if agency_id is None and location_id is not None:
        agency_id = _agency_of_location(session, location_id)
    if agency_id is None:
        agency_id = actor.agency_id
    days = SLA_WORKING_DAYS[CaseType(data.case_type)]
    due_date = add_working_days(local_date(opened_at), days)
    case = Case(
        number=next_case_number(session),
        case_type=data.case_type.value,
        status=CaseStatus.OPEN.value,
        priority=data.priority.value,
        subject=data.subject,
        description=data.description,
        party_id=data.party_id,
        service_location_id=location_id,
        usage_point_id=data.usage_point_id,
        agency_id=agency_id,
        opened_at=opened_at,
        sla_working_days=days,
        due_date=due_date,
        sla_breached=is_breached(due_date, resolved_at=None, now=now),
    )
    session.add(case)
    session.flush()
    CASE.record(session, actor, case, "open", None, case.status, at=opened_at)
    rule = assignment_rule_for(session, case.case_type, agency_id)
    if rule is not None:
        case.assignee_user_id, case.assignee_group = rule.assignee_user_id, rule.assignee_group
        reason = f"assignment rule {rule.id}"
        CASE.record(session, actor, case, "assign", case.status, case.status, reason=reason)
    session.flush()
    session.refresh(case)
    return case


def update_case(session: Session, *, actor: Actor, case_id: int, data: CaseUpdate) -> Case:
    case = repository.get_case(session, actor, case_id, lock=True)
    state_reason(session, data.reason)
    for field, value in data.model_dump(exclude_unset=True, exclude={"reason"}).items():
        if value is not None:
            setattr(case, field, value)
    session.flush()
    session.refresh(case)
    return case


def step_case(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    data: CaseStepRequest,
    now: datetime | None = None,
) -> Case:
    """Move a case along its lifecycle; resolving stops the SLA clock."""
    now = now or datetime.now(UTC)
    case = repository.get_case(session, actor, case_id, lock=True)
    state_reason(session, data.reason)
    before, after = CASE.fire(case, data.event.value)
    if after == CaseStatus.RESOLVED:
        case.resolved_at = now
        case.resolution = data.resolution or case.resolution
    elif data.event == "reopen":
        case.resolved_at = None
    if after == CaseStatus.CLOSED:
        case.closed_at = now
    if after in (CaseStatus.RESOLVED, *OPEN_CASE_STATUSES):
        case.sla_breached = is_breached(case.due_date, resolved_at=case.resolved_at, now=now)
    CASE.record(session, actor, case, data.event.value, before, after, reason=data.reason)
    session.flush()
    if after == CaseStatus.CLOSED:
        emit(
            session,
            CaseClosed(case_id=case.id, case_type=case.case_type, party_id=case.party_id),
        )
    session.refresh(case)
    return case


def assign_case(session: Session, *, actor: Actor, case_id: int, data: CaseAssignRequest) -> Case:
    case = repository.get_case(session, actor, case_id, lock=True)
    if case.status not in OPEN_CASE_STATUSES:
        CASE.fire(case, "start")  # raises the stable 409 for a finished case
    _check_assignee(session, data.assignee_user_id, data.assignee_group)
    state_reason(session, data.reason)
    case.assignee_user_id, case.assignee_group = data.assignee_user_id, data.assignee_group
    who = (
        f"user {data.assignee_user_id}" if data.assignee_user_id else f"group {data.assignee_group}"
    )
    reason = data.reason or f"assigned to {who}"
    CASE.record(session, actor, case, "assign", case.status, case.status, reason=reason)
    session.flush()
    session.refresh(case)
    return case


def _check_assignee(session: Session, user_id: int | None, group: str | None) -> None:
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise CaseAssigneeInvalidError(
                f"no active user {user_id}",
                errors=[FieldError("assignee_user_id", "unknown or inactive user")],
            )
    if group is not None and group not in {r.value for r in Role}:
        raise CaseAssigneeInvalidError(
            f"unknown group {group!r}; groups are roles: {', '.join(r.value for r in Role)}",
            errors=[FieldError("assignee_group", "unknown group (role)")],
        )


def task_list_query(session: Session, *, actor: Actor, assignee: str) -> Select[Any]:
    """Open cases assigned to the caller (``me``) or to one of the caller's roles
    (``group``, and not yet taken by a person)."""
    if assignee == "me":
        return repository.cases_query(
            actor,
            status=[s.value for s in OPEN_CASE_STATUSES],
            assignee_user_id=actor.user_id or -1,
        )
    roles = repository.user_roles(session, actor.user_id)
    return repository.cases_query(
        actor, status=[s.value for s in OPEN_CASE_STATUSES], assignee_groups=roles or [""]
    )


@dataclass(frozen=True)
class BoardColumn:
    """One column of the case board: the first cases of a status and how many there are."""

    status: str
    cases: list[Case]
    total: int
    party_names: dict[int, str]


def case_board(
    session: Session,
    *,
    actor: Actor,
    statuses: Sequence[str],
    case_type: str | None = None,
    agency_id: int | None = None,
    assignee: str = "all",
    per_column: int = 100,
) -> list[BoardColumn]:
    """The case board: per status, the soonest-due cases the caller may see, filtered by
    type, agency and assignee (``all``, ``me``, ``group``: the caller's roles, or
    ``unassigned``)."""
    roles = repository.user_roles(session, actor.user_id) if assignee == "group" else []
    columns = []
    for status in statuses:
        query = repository.cases_query(
            actor,
            case_type=case_type,
            status=[status],
            agency_id=agency_id,
            assignee_user_id=(actor.user_id or -1) if assignee == "me" else None,
            assignee_groups=(roles or [""]) if assignee == "group" else None,
            unassigned=assignee == "unassigned",
        )
        cases, total = paginate(session, query, offset=0, limit=per_column)
        names = repository.party_names(session, [c.party_id for c in cases if c.party_id])
        columns.append(BoardColumn(status, cases, total, names))
    return columns


def flag_breached_cases(session: Session, *, now: datetime | None = None) -> int:
    """Mark open cases whose due working day has passed; returns how many were marked."""
    today = local_date(now or datetime.now(UTC))
    result = session.execute(
        update(Case)
        .where(
            Case.status.in_([s.value for s in OPEN_CASE_STATUSES]),
            Case.due_date < today,
            Case.sla_breached.is_(False),
        )
        .values(sla_breached=True)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# --- assignment rules -------------------------------------------------------------------


def _require_agency(session: Session, actor: Actor, agency_id: int, what: str) -> None:
    """An agency named in a body: 422 when unknown; staff bound to a territory may name
    only their own (naming another would put ``what`` outside their sight)."""
    if session.get(Agency, agency_id) is None:
        raise AgencyUnknownError(
            f"no agency {agency_id}", errors=[FieldError("agency_id", "unknown agency")]
        )
    if not agency_allowed(session, actor, agency_id):
        raise OutsideTerritoryError(f"{what} of agency {agency_id} is outside your territory")


def create_rule(
    session: Session, *, actor: Actor, data: AssignmentRuleCreate
) -> CaseAssignmentRule:
    """A rule for one agency (or, for unrestricted staff only, for every agency)."""
    if data.agency_id is not None:
        _require_agency(session, actor, data.agency_id, "an assignment rule")
    elif scope_of(actor) is not None:
        raise OutsideTerritoryError("a rule for every agency reaches outside your territory")
    _check_assignee(session, data.assignee_user_id, data.assignee_group)
    rule = CaseAssignmentRule(
        case_type=data.case_type.value,
        agency_id=data.agency_id,
        assignee_user_id=data.assignee_user_id,
        assignee_group=data.assignee_group,
    )
    exists_error = by_constraint(
        {
            "uq_customer_case_assignment_rule_type_agency": lambda: CaseAssignmentRuleExistsError(
                "a rule for this case type and agency exists; delete it first"
            )
        }
    )
    flush_guarded(session, exists_error, lambda: session.add(rule))
    return rule


def delete_rule(session: Session, *, actor: Actor, rule_id: int) -> None:
    """Remove a rule: another agency's is not found; a general one (every agency) is only
    for unrestricted staff."""
    rule = repository.get_rule(session, actor, rule_id)
    if rule.agency_id is None and scope_of(actor) is not None:
        raise OutsideTerritoryError("a rule for every agency reaches outside your territory")
    session.delete(rule)
    session.flush()


# --- interactions -----------------------------------------------------------------------


def log_interaction(
    session: Session, *, actor: Actor, data: InteractionCreate, now: datetime | None = None
) -> Interaction:
    now = now or datetime.now(UTC)
    occurred_at = data.occurred_at or now
    _not_future(occurred_at, now, "occurred_at")
    party = require_party(session, actor, data.party_id, "party_id")
    if data.case_id is not None:
        try:
            case = repository.get_case(session, actor, data.case_id)
        except CaseNotFoundError as exc:
            raise _unknown("case_id", f"no case {data.case_id}") from exc
        if case.party_id is not None and case.party_id != party.id:
            raise _unknown("case_id", "the case belongs to another customer")
    interaction = Interaction(
        party_id=party.id,
        case_id=data.case_id,
        channel=data.channel.value,
        direction=data.direction.value,
        occurred_at=occurred_at,
        subject=data.subject,
        notes=data.notes,
        attachments=[a.model_dump() for a in data.attachments],
        staff_user_id=actor.user_id,
    )
    session.add(interaction)
    session.flush()
    session.refresh(interaction)
    return interaction
