"""Accounts and contracts, and the contract processes: move-in, move-out (orders the final
reading), transfer, change of subscribed power, termination. A step a contract cannot take
from its status is a 409 ``contract_transition_invalid``."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor, DbSession
from api.params import CONFLICT, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.pages import Page, paginate
from customers import repository, service
from customers.enums import ContractStatus
from customers.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    ChangePowerRequest,
    ContractRead,
    ContractTransitionRead,
    ContractUpdate,
    MoveInRequest,
    MoveOutRequest,
    StepRequest,
    TerminateRequest,
    TransferRequest,
    TransferResult,
)

router = APIRouter(prefix="/api/v1", tags=["contracts"], responses=PROBLEM_RESPONSES)


@router.post("/accounts", response_model=AccountRead, status_code=201)
def create_account(
    body: AccountCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> AccountRead:
    """Open an account; its number carries a Luhn check digit."""
    return AccountRead.model_validate(service.create_account(session, actor=actor, data=body))


@router.get("/accounts", response_model=Page[AccountRead])
def list_accounts(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    payer_party_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[AccountRead]:
    query = repository.accounts_query(actor, payer_party_id=payer_party_id)
    rows, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=[AccountRead.model_validate(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/accounts/{account_id}", response_model=AccountRead)
def read_account(
    account_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> AccountRead:
    return AccountRead.model_validate(repository.get_account(session, actor, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountRead)
def update_account(
    account_id: Id,
    body: AccountUpdate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> AccountRead:
    return AccountRead.model_validate(
        service.update_account(session, actor=actor, account_id=account_id, data=body)
    )


def _read(session: DbSession, contract: object) -> ContractRead:
    return service.contract_reads(session, [contract])[0]  # type: ignore[list-item]


@router.post("/contracts/move-in", response_model=ContractRead, status_code=201, responses=CONFLICT)
def move_in(
    body: MoveInRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    """A new occupant: a contract on the usage point from ``start_date``. A usage point has
    at most one pending/active contract at a time (409 ``contract_overlap``)."""
    return _read(session, service.move_in(session, actor=actor, data=body))


@router.get("/contracts", response_model=Page[ContractRead])
def list_contracts(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    party_id: OptionalId = None,
    usage_point_id: OptionalId = None,
    account_id: OptionalId = None,
    status: ContractStatus | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[ContractRead]:
    query = repository.contracts_query(
        actor,
        party_id=party_id,
        usage_point_id=usage_point_id,
        account_id=account_id,
        status=status.value if status else None,
    )
    rows, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=service.contract_reads(session, rows), total=total, offset=offset, limit=limit
    )


@router.get("/contracts/{contract_id}", response_model=ContractRead)
def read_contract(
    contract_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> ContractRead:
    return _read(session, repository.get_contract(session, actor, contract_id))


@router.patch("/contracts/{contract_id}", response_model=ContractRead, responses=CONFLICT)
def update_contract(
    contract_id: Id,
    body: ContractUpdate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    return _read(
        session, service.update_contract(session, actor=actor, contract_id=contract_id, data=body)
    )


@router.get("/contracts/{contract_id}/transitions", response_model=list[ContractTransitionRead])
def contract_transitions(
    contract_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> list[ContractTransitionRead]:
    """The contract's history: every step, who took it, when, from and to which status."""
    return [
        ContractTransitionRead.model_validate(t)
        for t in repository.contract_transitions(session, actor, contract_id)
    ]


@router.post("/contracts/{contract_id}/activate", response_model=ContractRead, responses=CONFLICT)
def activate(
    contract_id: Id,
    body: StepRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    """Complete the move-in of a pending contract."""
    contract = service.simple_step(
        session, actor=actor, contract_id=contract_id, event="move_in", reason=body.reason
    )
    return _read(session, contract)


@router.post("/contracts/{contract_id}/cancel", response_model=ContractRead, responses=CONFLICT)
def cancel(
    contract_id: Id,
    body: StepRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    """Cancel a pending contract (it never started)."""
    contract = service.simple_step(
        session, actor=actor, contract_id=contract_id, event="cancel", reason=body.reason
    )
    return _read(session, contract)


@router.post("/contracts/{contract_id}/move-out", response_model=ContractRead, responses=CONFLICT)
def move_out(
    contract_id: Id,
    body: MoveOutRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    """End supply on ``end_date`` and order a final reading of that day (event
    ``customers.final_reading_requested``, sent once the move-out is committed)."""
    return _read(
        session, service.move_out(session, actor=actor, contract_id=contract_id, data=body)
    )


@router.post("/contracts/{contract_id}/transfer", response_model=TransferResult, responses=CONFLICT)
def transfer(
    contract_id: Id,
    body: TransferRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> TransferResult:
    """Hand the usage point to a new holder on ``transfer_date`` (no gap in supply)."""
    previous, current = service.transfer(session, actor=actor, contract_id=contract_id, data=body)
    previous_read, current_read = service.contract_reads(session, [previous, current])
    return TransferResult(previous=previous_read, current=current_read)


@router.post(
    "/contracts/{contract_id}/change-power", response_model=ContractRead, responses=CONFLICT
)
def change_power(
    contract_id: Id,
    body: ChangePowerRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    return _read(
        session, service.change_power(session, actor=actor, contract_id=contract_id, data=body)
    )


@router.post("/contracts/{contract_id}/terminate", response_model=ContractRead, responses=CONFLICT)
def terminate(
    contract_id: Id,
    body: TerminateRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ContractRead:
    return _read(
        session, service.terminate(session, actor=actor, contract_id=contract_id, data=body)
    )
