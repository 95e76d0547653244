"""SEPA direct debit: mandates, pain.008 batches (each debit posted once, the file
downloadable), and the bank's returns (pain.002 or the documented CSV). Mandates and
collections are seen where their customer account is; a batch where it was made."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.downloads import attachment
from api.idempotency import IdempotencyKey, IdempotentRoute
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from billing.payments import direct_debit, direct_debit_returns
from billing.payments.errors import DirectDebitReturnInvalidError
from billing.payments.models import DirectDebitBatch
from billing.payments.schemas import (
    DirectDebitBatchCreate,
    DirectDebitBatchRead,
    DirectDebitCollectionRead,
    DirectDebitReturnReport,
    MandateCreate,
    MandateRead,
    ReasonBody,
)

router = APIRouter(
    prefix="/api/v1",
    tags=["direct debit"],
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


def batch_read(session: Session, batch: DirectDebitBatch) -> DirectDebitBatchRead:
    return DirectDebitBatchRead.model_validate(batch).model_copy(
        update={
            "collections": [
                DirectDebitCollectionRead.model_validate(c)
                for c in direct_debit.collections_of(session, batch)
            ]
        }
    )


@router.post("/mandates", response_model=MandateRead, status_code=201, responses=CONFLICT)
def create_mandate(
    data: MandateCreate,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> MandateRead:
    """Record a signed SEPA mandate (IBAN and BIC checked; no BIC: the IBAN's bank's)."""
    return MandateRead.model_validate(direct_debit.create_mandate(session, actor, data=data))


@router.get("/mandates", response_model=list[MandateRead])
def list_mandates(
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    account_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[MandateRead]:
    found = direct_debit.mandates(
        session, actor, customer_account_id=account_id, limit=limit, offset=offset
    )
    return [MandateRead.model_validate(m) for m in found]


@router.get("/mandates/{mandate_id}", response_model=MandateRead, responses=NOT_FOUND)
def read_mandate(
    mandate_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> MandateRead:
    return MandateRead.model_validate(direct_debit.mandate_seen(session, actor, mandate_id))


@router.post(
    "/mandates/{mandate_id}/revoke", response_model=MandateRead, responses={**NOT_FOUND, **CONFLICT}
)
def revoke_mandate(
    mandate_id: Id,
    data: ReasonBody,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> MandateRead:
    """The customer withdrew the mandate: no more collections under it."""
    mandate = direct_debit.mandate_seen(session, actor, mandate_id)
    direct_debit.revoke(session, actor, mandate, reason=data.reason)
    return MandateRead.model_validate(mandate)


@router.post(
    "/direct-debit/batches",
    response_model=DirectDebitBatchRead,
    status_code=201,
    responses=CONFLICT,
)
def make_batch(
    data: DirectDebitBatchCreate,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
    key: IdempotencyKey,
    agency_id: OptionalId = None,
) -> DirectDebitBatchRead:
    """Collect what every active mandate (in your territory) owes by the collection date:
    the pain.008 file, and a payment posted per debit (a retry with the same
    Idempotency-Key returns the first batch)."""
    batch = direct_debit.make_batch(
        session,
        actor,
        collection_date=data.collection_date,
        currency=data.currency,
        agency_id=agency_id,
    )
    return batch_read(session, batch)


@router.get("/direct-debit/batches", response_model=list[DirectDebitBatchRead])
def list_batches(
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[DirectDebitBatchRead]:
    return [
        DirectDebitBatchRead.model_validate(b)
        for b in direct_debit.batches(session, actor, limit=limit, offset=offset)
    ]


@router.get(
    "/direct-debit/batches/{dd_batch_id}", response_model=DirectDebitBatchRead, responses=NOT_FOUND
)
def read_batch(
    dd_batch_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> DirectDebitBatchRead:
    return batch_read(session, direct_debit.batch_seen(session, actor, dd_batch_id))


@router.get(
    "/direct-debit/batches/{dd_batch_id}/pain008",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}, **NOT_FOUND},
)
def download_batch(
    dd_batch_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> Response:
    """The pain.008.001.02 file to send to the bank."""
    batch = direct_debit.batch_seen(session, actor, dd_batch_id)
    return attachment(batch.xml, f"{batch.message_id}.xml", "application/xml")


@router.post(
    "/direct-debit/returns",
    response_model=DirectDebitReturnReport,
    responses=CONFLICT,
)
async def import_returns(
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    file: Annotated[UploadFile, File(description="a pain.002 status report or a CSV of returns")],
) -> DirectDebitReturnReport:
    """Record the bank's returned debits: each reverses its payment, re-opens the debt and
    adds the return fee; a return already recorded is skipped."""
    content = await file.read(direct_debit_returns.RETURN_BYTES_MAX + 1)
    if len(content) > direct_debit_returns.RETURN_BYTES_MAX:
        raise DirectDebitReturnInvalidError("the file is too large")

    def run() -> DirectDebitReturnReport:
        report = direct_debit_returns.import_returns(session, actor, content)
        return DirectDebitReturnReport(
            returned=report.returned,
            already=report.already,
            revoked_mandates=report.revoked_mandates,
            fees=report.fees,
        )

    return await run_in_threadpool(run)
