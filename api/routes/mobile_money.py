"""Mobile-money operators' callbacks (validation, confirmation) in the M-Pesa C2B style and
a generic aggregator style, and the reconciliation of an operator's daily statement.

Callbacks are not staff calls: they authenticate with the ``OperatorSignature`` security
scheme (an HMAC-SHA256 of the raw body under the shared secret, header
``X-Kilowatch-Signature: sha256=<hex>``) or come from an allowlisted address (settings
``mobile_money_secret`` / ``mobile_money_allowlist``). A retried confirmation posts nothing
twice: the operator's transaction id is unique per channel.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Security, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from billing.payments import mobile_money
from billing.payments.errors import CallbackRejectedError, OperatorNotAuthenticatedError
from billing.payments.mobile_money import Callback
from billing.payments.schemas import (
    AggregatorCallback,
    AggregatorResult,
    AmountDiffers,
    MissingHere,
    MpesaC2B,
    MpesaResult,
    ReconciliationLine,
    ReconciliationRead,
)
from core.db import stamp_transaction
from core.settings import get_settings

router = APIRouter(
    prefix="/api/v1/mobile-money", tags=["mobile money"], responses=PROBLEM_RESPONSES
)

SIGNATURE_HEADER = "X-Kilowatch-Signature"
operator_signature = APIKeyHeader(
    name=SIGNATURE_HEADER,
    scheme_name="OperatorSignature",
    description="Mobile-money operators: sha256=<hex HMAC-SHA256 of the raw body under the "
    "shared secret>. Staff tokens are not accepted here.",
    auto_error=False,
)


async def operator_body(
    request: Request, signature: Annotated[str | None, Security(operator_signature)]
) -> bytes:
    """The raw body of a callback the operator authenticated (else 401)."""
    body = await request.body()
    peer = request.client.host if request.client else None
    if not mobile_money.verify_operator(body, signature, peer):
        raise OperatorNotAuthenticatedError(
            "a callback carries the operator's signature or comes from an allowed address"
        )
    return body


Authenticated = Annotated[bytes, Security(operator_body)]

MPESA_REJECT = "C2B00012"  # Daraja: invalid account number


def _mpesa(data: MpesaC2B) -> Callback:
    currency = get_settings().currency
    name = " ".join(n for n in (data.first_name, data.last_name) if n) or None
    return Callback(
        operator="mpesa",
        transaction_id=data.trans_id,
        amount=mobile_money.amount_minor(data.trans_amount, currency),
        currency=currency,
        reference=data.bill_ref_number,
        paid_at=mobile_money.mpesa_time(data.trans_time),
        msisdn=data.msisdn or None,
        payer_name=name,
    )


def _aggregator(data: AggregatorCallback) -> Callback:
    return Callback(
        operator=data.operator,
        transaction_id=data.transaction_id,
        amount=mobile_money.amount_minor(data.amount, data.currency),
        currency=data.currency,
        reference=data.reference,
        paid_at=data.paid_at or datetime.now(UTC),
        msisdn=data.msisdn,
        payer_name=data.payer_name,
    )


@router.post("/mpesa/validation", response_model=MpesaResult)
def mpesa_validation(data: MpesaC2B, session: DbSession, _body: Authenticated) -> MpesaResult:
    """Daraja C2B validation: accept a bill reference naming an account, reject others."""
    try:
        callback = _mpesa(data)
    except CallbackRejectedError:
        return MpesaResult(result_code="C2B00013", result_desc="Rejected: invalid amount")
    stamp_transaction(session, mobile_money.operator_actor("mpesa"))
    answer = mobile_money.validate(session, callback)
    if answer.accepted:
        return MpesaResult(result_code="0", result_desc="Accepted")
    return MpesaResult(result_code=MPESA_REJECT, result_desc="Rejected: unknown account")


@router.post("/mpesa/confirmation", response_model=MpesaResult)
def mpesa_confirmation(data: MpesaC2B, session: DbSession, _body: Authenticated) -> MpesaResult:
    """Daraja C2B confirmation: the payment is posted once per TransID (or queued)."""
    callback = _mpesa(data)
    stamp_transaction(session, mobile_money.operator_actor("mpesa"))
    mobile_money.confirm(session, callback)
    return MpesaResult(result_code="0", result_desc="Success")


@router.post("/aggregator/validation", response_model=AggregatorResult)
def aggregator_validation(
    data: AggregatorCallback, session: DbSession, _body: Authenticated
) -> AggregatorResult:
    callback = _aggregator(data)
    stamp_transaction(session, mobile_money.operator_actor(callback.operator))
    answer = mobile_money.validate(session, callback)
    return AggregatorResult(
        status="accepted" if answer.accepted else "rejected",
        customer_account_id=answer.customer_account_id,
        detail=answer.reason,
    )


@router.post("/aggregator/confirmation", response_model=AggregatorResult)
def aggregator_confirmation(
    data: AggregatorCallback, session: DbSession, _body: Authenticated
) -> AggregatorResult:
    """Posted once per (channel, transaction id); a retry answers ``duplicate``."""
    callback = _aggregator(data)
    stamp_transaction(session, mobile_money.operator_actor(callback.operator))
    done = mobile_money.confirm(session, callback)
    payment = done.payment
    return AggregatorResult(
        status=done.status,
        customer_account_id=payment.customer_account_id if payment else None,
        payment_id=payment.id if payment else None,
        detail=f"unmatched receipt {done.unmatched_id}" if done.unmatched_id else "",
    )


@router.post("/reconciliations", response_model=ReconciliationRead)
async def reconcile_statement(
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    file: Annotated[UploadFile, File(description="CSV: transaction_id,amount,date")],
    day: Annotated[date, Query(description="the statement's day (local calendar)")],
) -> ReconciliationRead:
    """Compare an operator's daily statement with what Kilowatch recorded that day: what
    is missing on either side, and amounts that differ."""
    content = await file.read(mobile_money.STATEMENT_BYTES_MAX + 1)
    if len(content) > mobile_money.STATEMENT_BYTES_MAX:
        raise CallbackRejectedError("the statement is too large")

    def run() -> ReconciliationRead:
        lines = mobile_money.parse_statement(content, get_settings().currency)
        report = mobile_money.reconcile(session, actor, day, lines)
        return ReconciliationRead(
            day=report.day,
            matched=report.matched,
            missing_in_kilowatch=[
                ReconciliationLine(
                    transaction_id=x.transaction_id, amount=x.amount, paid_on=x.paid_on
                )
                for x in report.missing_in_kilowatch
            ],
            missing_in_statement=[
                MissingHere(transaction_id=t, amount=a) for t, a in report.missing_in_statement
            ],
            amount_differs=[
                AmountDiffers(transaction_id=t, ours=o, theirs=th)
                for t, o, th in report.amount_differs
            ],
        )

    return await run_in_threadpool(run)
