"""Staff account administration (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor, DbSession
from api.params import Limit, Offset
from api.schemas import PROBLEM_RESPONSES
from core.auth import service
from core.auth.schemas import UserCreate, UserRead

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=PROBLEM_RESPONSES)


@router.post("", response_model=UserRead, status_code=201)
def create_user(
    body: UserCreate,
    session: DbSession,
    actor: CurrentActor("users:admin"),  # type: ignore[valid-type]
) -> UserRead:
    user = service.create_user(
        session,
        username=body.username,
        password=body.password,
        roles=[r.value for r in body.roles],
        agency_code=body.agency_code,
        full_name=body.full_name,
        actor=actor,
    )
    return UserRead.model_validate(user)


@router.get("", response_model=list[UserRead])
def list_users(
    session: DbSession,
    actor: CurrentActor("users:admin"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[UserRead]:
    users = service.list_users(session, actor=actor, offset=offset, limit=limit)
    return [UserRead.model_validate(u) for u in users]
