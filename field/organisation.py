"""Teams and technicians: who works in the field, for which agency, with which skills and
on which weekdays (a technician is a user: they sign in on the handheld); and reading
cycles, the groups of usage points read together every period."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from core.flush import by_constraint, flush_guarded
from core.territory import OutsideTerritoryError, agency_allowed, visible
from customers.models import UsagePoint
from field import repository
from field.errors import (
    CycleCodeTakenError,
    NotATechnicianError,
    ReferenceUnknownError,
    TeamCodeTakenError,
    TechnicianExistsError,
)
from field.models import FieldTeam, ReadingCycle, ReadingCycleMember, Technician
from field.schemas import CycleCreate, TeamCreate, TechnicianCreate, TechnicianUpdate


def own_agency(session: Session, actor: Actor, agency_id: int | None) -> int | None:
    """The agency a new record belongs to: the given one, else the actor's; a member of
    staff bound to a territory may only create records of its own agency (of its own
    company's agencies, when its company's outlines bound it)."""
    chosen = agency_id if agency_id is not None else actor.agency_id
    if not agency_allowed(session, actor, chosen):
        raise OutsideTerritoryError(f"agency {chosen} is outside your territory")
    return chosen


def create_team(session: Session, *, actor: Actor, data: TeamCreate) -> FieldTeam:
    team = FieldTeam(
        code=data.code, name=data.name, agency_id=own_agency(session, actor, data.agency_id)
    )
    flush_guarded(
        session,
        by_constraint(
            {"uq_field_team_code": lambda: TeamCodeTakenError(f"team {data.code} exists")}
        ),
        apply=lambda: session.add(team),
    )
    return team


def create_technician(session: Session, *, actor: Actor, data: TechnicianCreate) -> Technician:
    """Make a user a technician, of the user's agency (or the actor's)."""
    user = repository.user(session, data.user_id)
    if user is None:
        raise ReferenceUnknownError(
            f"no user {data.user_id}",
            errors=[FieldError("user_id", "unknown user", "reference_unknown")],
        )
    if data.team_id is not None:
        repository.get_team(session, actor, data.team_id)
    technician = Technician(
        code=data.code,
        user_id=user.id,
        agency_id=own_agency(session, actor, user.agency_id),
        team_id=data.team_id,
        full_name=data.full_name or user.full_name or user.username,
        skills=sorted({s.value for s in data.skills}),
        working_days=sorted(set(data.working_days)),
    )
    taken = lambda: TechnicianExistsError(f"user {user.id} or code {data.code} is taken")  # noqa: E731
    flush_guarded(
        session,
        by_constraint({"uq_field_technician_user_id": taken, "uq_field_technician_code": taken}),
        apply=lambda: session.add(technician),
    )
    return technician


def update_technician(
    session: Session, *, actor: Actor, technician_id: int, data: TechnicianUpdate
) -> Technician:
    technician = repository.get_technician(session, actor, technician_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("team_id") is not None:
        repository.get_team(session, actor, changes["team_id"])
    if "skills" in changes and changes["skills"] is not None:
        changes["skills"] = sorted({str(s) for s in changes["skills"]})
    if "working_days" in changes and changes["working_days"] is not None:
        changes["working_days"] = sorted(set(changes["working_days"]))
    for key, value in changes.items():
        if value is not None or key == "team_id":
            setattr(technician, key, value)
    session.flush()
    return technician


def create_cycle(session: Session, *, actor: Actor, data: CycleCreate) -> ReadingCycle:
    """A reading cycle with its usage points (all seen by the actor, or nothing is made);
    a usage point already in another cycle moves to this one."""
    for index, usage_point_id in enumerate(data.usage_point_ids):
        if not session.scalar(
            select(UsagePoint.id).where(UsagePoint.id == usage_point_id, visible(actor, UsagePoint))
        ):
            raise ReferenceUnknownError(
                f"no usage point {usage_point_id}",
                errors=[
                    FieldError(
                        f"usage_point_ids/{index}", "unknown usage point", "reference_unknown"
                    )
                ],
            )
    cycle = ReadingCycle(
        code=data.code, name=data.name, agency_id=own_agency(session, actor, data.agency_id)
    )
    flush_guarded(
        session,
        by_constraint(
            {
                "uq_field_reading_cycle_code": lambda: CycleCodeTakenError(
                    f"cycle {data.code} exists"
                )
            }
        ),
        apply=lambda: session.add(cycle),
    )
    members = sorted(set(data.usage_point_ids))
    if members:
        session.execute(
            insert(ReadingCycleMember)
            .values([{"cycle_id": cycle.id, "usage_point_id": m} for m in members])
            .on_conflict_do_update(index_elements=["usage_point_id"], set_={"cycle_id": cycle.id})
        )
    session.flush()
    return cycle


def technician_of(session: Session, actor: Actor) -> Technician | None:
    """The technician record of the signed-in user (None for office staff)."""
    return repository.technician_of_user(session, actor.user_id)


def require_technician_of(session: Session, actor: Actor) -> Technician:
    technician = technician_of(session, actor)
    if technician is None:
        raise NotATechnicianError(f"user {actor.username} is not a field technician")
    return technician
