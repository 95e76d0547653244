"""The ledger, read side: the chart of accounts and a customer account's statement. A
customer account's postings are seen where the account is (404 elsewhere)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import CurrentActor, DbSession
from api.params import NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES
from billing.ledger import repository
from billing.ledger.models import LedgerAccount
from billing.ledger.schemas import LedgerAccountRead, StatementRead
from core.errors import InputInvalidError
from customers.errors import AccountNotFoundError

router = APIRouter(prefix="/api/v1", tags=["ledger"], responses=PROBLEM_RESPONSES)


@router.get("/ledger/accounts", response_model=list[LedgerAccountRead])
def chart_of_accounts(
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> list[LedgerAccount]:
    """The chart of accounts, by code (the same for every agency)."""
    return list(session.scalars(select(LedgerAccount).order_by(LedgerAccount.code)))


@router.get("/accounts/{account_id}/statement", response_model=StatementRead, responses=NOT_FOUND)
def account_statement(
    account_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    date_from: date | None = Query(None, description="first day (local calendar), inclusive"),
    date_to: date | None = Query(None, description="last day (local calendar), inclusive"),
) -> repository.Statement:
    """The customer account's statement: the balance before ``date_from`` per currency,
    each receivable posting of the range with its running balance, the closing balance.
    Amounts in integer minor units, debit (owed by the customer) positive."""
    if date_from and date_to and date_from > date_to:
        raise InputInvalidError("date_from is after date_to")
    if not repository.customer_account_seen(session, actor, account_id):
        raise AccountNotFoundError(f"no account {account_id}")
    return repository.statement(session, account_id, date_from=date_from, date_to=date_to)
