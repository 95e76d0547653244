"""The account statement page: who the account is, its balance per currency, and every
receivable posting of a date range with the running balance (``billing.ledger``
statements: sums of postings, never a stored balance)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.params import Id
from api.web.rendering import page_actor, render
from billing.account_file import account_header
from billing.ledger import repository
from core.errors import InputInvalidError
from core.i18n import N_
from customers.errors import AccountNotFoundError

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    "invoice": N_("Invoice"),
    "credit_note": N_("Credit note"),
    "payment": N_("Payment"),
    "fee": N_("Fee"),
    "interest": N_("Interest"),
    "write_off": N_("Write-off"),
    "opening_balance": N_("Opening balance"),
}


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputInvalidError(f"{field}: not a date (YYYY-MM-DD)") from exc


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_statement_page(
    request: Request,
    session: DbSession,
    account_id: Id,
    date_from_text: str = Query("", alias="date_from", max_length=10),
    date_to_text: str = Query("", alias="date_to", max_length=10),
) -> Response:
    actor = page_actor(request, session, "billing:read")
    # The form sends empty fields as "": no bound, not a bad date.
    date_from, date_to = _day(date_from_text, "date_from"), _day(date_to_text, "date_to")
    if date_from and date_to and date_from > date_to:
        raise InputInvalidError("date_from is after date_to")
    header = account_header(session, actor, account_id)
    if header is None:
        raise AccountNotFoundError(f"no account {account_id}")
    statement = repository.statement(session, account_id, date_from=date_from, date_to=date_to)
    balance = repository.balances(session, [account_id]).get(account_id, {})
    return render(
        request,
        "account_statement.html",
        actor,
        title=f"Account {header.number}",
        account=header,
        statement=statement,
        balance=balance,
        kind_label=lambda kind: KIND_LABELS.get(kind, kind.replace("_", " ")),
        date_from=date_from,
        date_to=date_to,
    )
