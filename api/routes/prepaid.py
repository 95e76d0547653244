"""Prepaid vending: sell energy for an amount (Idempotency-Key: a retried sale sells once),
the purchases of a contract, the reversal of a vend whose token failed."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor, DbSession
from api.idempotency import IdempotencyKey, IdempotentRoute
from api.params import CONFLICT, NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES
from billing.payments import vending
from billing.payments.errors import PaymentNotFoundError
from billing.payments.schemas import ReasonBody, VendCreate, VendRead
from customers.errors import ContractNotFoundError

router = APIRouter(
    prefix="/api/v1", tags=["prepaid"], responses=PROBLEM_RESPONSES, route_class=IdempotentRoute
)


@router.post("/prepaid-vends", response_model=VendRead, status_code=201, responses=CONFLICT)
def sell_energy(
    data: VendCreate,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    key: IdempotencyKey,
) -> VendRead:
    """Turn the amount into kWh through the tariff (the month's fixed charges at its first
    purchase, blocks counted across the month's purchases, taxes) and a 20-digit token."""
    sold = vending.vend(
        session,
        actor,
        contract_id=data.contract_id,
        meter_serial=data.meter_serial,
        amount=data.amount,
        instrument=data.instrument,
    )
    return VendRead.model_validate(sold)


@router.get("/contracts/{contract_id}/vends", response_model=list[VendRead], responses=NOT_FOUND)
def contract_vends(
    contract_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> list[VendRead]:
    """The purchases made under the contract, newest first, with their tokens."""
    if not vending.contract_seen(session, actor, contract_id):
        raise ContractNotFoundError(f"no contract {contract_id}")
    return [
        VendRead.model_validate(v) for v in vending.vends_of_contract(session, actor, contract_id)
    ]


@router.post(
    "/prepaid-vends/{vend_id}/reverse", response_model=VendRead, responses={**NOT_FOUND, **CONFLICT}
)
def reverse_vend(
    vend_id: Id,
    data: ReasonBody,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> VendRead:
    """The token failed: the charge is reversed, the money stays as the account's credit."""
    sold = vending.get_vend(session, actor, vend_id)
    if sold is None:
        raise PaymentNotFoundError(f"no prepaid vend {vend_id}")
    return VendRead.model_validate(vending.reverse_vend(session, actor, sold, reason=data.reason))
