"""Prepaid vending: sell energy for an amount (Idempotency-Key: a retried sale sells once),
the purchases of a contract, the reversal of a vend whose token failed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CurrentActor, DbSession
from api.idempotency import IdempotencyKey, IdempotentRoute
from api.params import CONFLICT, NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES
from billing.payments import vend_receipts, vending
from billing.payments.errors import PaymentNotFoundError
from billing.payments.receipts import ReceiptLayout
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


@router.get(
    "/prepaid-vends/{vend_id}/receipt",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}, "text/plain": {}}, "description": "The receipt"},
        **NOT_FOUND,
    },
)
def vend_receipt(
    vend_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    layout: Annotated[ReceiptLayout, Query()] = ReceiptLayout.A5,
) -> Response:
    """The purchase's receipt (the token, the energy, every deduction, the credit left):
    a PDF (A5, or 80 mm for thermal printers) or 42-column text. Reprinted at will (a
    customer who lost the token gets it again)."""
    sold = vending.get_vend(session, actor, vend_id)
    if sold is None:
        raise PaymentNotFoundError(f"no prepaid vend {vend_id}")
    content, media_type = vend_receipts.render_receipt(session, sold, layout)
    return Response(content, media_type=media_type)
