"""Bank statements and the unmatched queue: import a camt.053 (each credit posted once to
the account it names, or queued), list what waits, match a receipt by hand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentActor, DbSession
from api.idempotency import IdempotentRoute
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.routes.payments import payment_read
from api.schemas import PROBLEM_RESPONSES
from billing.payments import bank, matching
from billing.payments.errors import StatementInvalidError
from billing.payments.schemas import MatchRequest, PaymentRead, StatementReport, UnmatchedRead

router = APIRouter(
    prefix="/api/v1", tags=["bank"], responses=PROBLEM_RESPONSES, route_class=IdempotentRoute
)


@router.post(
    "/bank-statements", response_model=StatementReport, status_code=201, responses=CONFLICT
)
async def import_bank_statement(
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    file: Annotated[UploadFile, File(description="a camt.053 XML statement")],
    agency_id: OptionalId = None,
) -> StatementReport:
    """Import a camt.053: credits matched by RF reference, account number and amount are
    posted; the rest wait in the unmatched queue. A statement is imported once, and an
    entry already posted through another statement posts nothing."""
    content = await file.read(bank.STATEMENT_BYTES_MAX + 1)
    if len(content) > bank.STATEMENT_BYTES_MAX:
        raise StatementInvalidError("the statement is too large")

    def run() -> StatementReport:
        report = bank.import_statement(session, actor, content, agency_id=agency_id)
        return StatementReport(
            statement_id=report.statement.id,
            iban=report.statement.iban,
            bank_statement_id=report.statement.statement_id,
            payments=[payment_read(session, p) for p in report.payments],
            unmatched=report.unmatched,
            duplicates=report.duplicates,
            skipped=report.skipped,
        )

    return await run_in_threadpool(run)


@router.get("/unmatched-receipts", response_model=list[UnmatchedRead])
def unmatched_receipts(
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[UnmatchedRead]:
    """Money received that names no account Kilowatch could find, oldest first."""
    return [
        UnmatchedRead.model_validate(r)
        for r in matching.unmatched_queue(session, actor, limit=limit, offset=offset)
    ]


@router.post(
    "/unmatched-receipts/{receipt_id}/match",
    response_model=PaymentRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def match_receipt(
    receipt_id: Id,
    data: MatchRequest,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> PaymentRead:
    """Post the receipt to the account found by hand (once: it keeps its channel and id)."""
    payment = matching.match_by_hand(
        session, actor, receipt_id, customer_account_id=data.customer_account_id
    )
    return payment_read(session, payment)
