"""Pages of the payment channels: bank statements (what each matched and what waits),
the mobile-money reconciliation against the operator's daily file (missing on either
side), SEPA mandates and direct-debit batches (make one, import the bank's returns), and
prepaid vending (sell, the receipt with the energy and every deduction, a meter's history).

Form posts answer with a redirect; a refused one comes back to its page with the reason
(``?error=``), nothing written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from billing.payments import (
    direct_debit,
    direct_debit_returns,
    mobile_money,
    service,
    statements_view,
    vending,
)
from billing.payments.errors import DirectDebitReturnInvalidError
from billing.payments.schemas import MandateCreate
from core.errors import DomainError, EntityNotFoundError
from core.pages import BIGINT_MAX
from core.settings import get_settings

router = APIRouter(include_in_schema=False)

READ = "billing:read"
TAKE = "payments:write"
ISSUE = "billing:issue"
register_nav_item(NavItem("Bank statements", "/payments/bank-statements", TAKE, order=62))
register_nav_item(NavItem("Mobile money", "/payments/mobile-money", TAKE, order=63))
register_nav_item(NavItem("Direct debit", "/direct-debit", READ, order=64))
register_nav_item(NavItem("Prepaid vending", "/prepaid", TAKE, order=65))

UPLOAD_MAX = 5 * 1024 * 1024


def _back(path: str, error: DomainError | str) -> RedirectResponse:
    return RedirectResponse(f"{path}?error={quote(str(error)[:200])}", status_code=303)


def _id(value: int, what: str) -> int:
    if not 1 <= value <= BIGINT_MAX:
        raise EntityNotFoundError(f"no {what} {value}")
    return value


# -- bank statements ----------------------------------------------------------------------


@router.get("/payments/bank-statements", response_class=HTMLResponse)
def bank_statements_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, TAKE)
    return render(
        request,
        "bank_statements.html",
        actor,
        title="Bank statements",
        statements=statements_view.statements(session, actor, limit=100),
    )


@router.get("/payments/bank-statements/{statement_id}", response_class=HTMLResponse)
def bank_statement_page(request: Request, session: DbSession, statement_id: int) -> Response:
    actor = page_actor(request, session, TAKE)
    view = statements_view.statement(session, actor, _id(statement_id, "statement"))
    return render(request, "bank_statement.html", actor, title="Bank statement", view=view)


# -- mobile money ---------------------------------------------------------------------------


@router.get("/payments/mobile-money", response_class=HTMLResponse)
def mobile_money_page(request: Request, session: DbSession, error: str = Query("")) -> Response:
    actor = page_actor(request, session, TAKE)
    today = service.local_date(datetime.now(UTC))
    return render(
        request,
        "mobile_money_reconciliation.html",
        actor,
        title="Mobile-money reconciliation",
        day=today,
        report=None,
        error=error[:200],
    )


@router.post("/payments/mobile-money", response_class=HTMLResponse)
async def mobile_money_reconcile(
    request: Request,
    session: DbSession,
    day: date = Form(...),
    file: UploadFile = File(...),
) -> Response:
    actor = page_actor(request, session, TAKE)
    content = await file.read(UPLOAD_MAX + 1)
    if len(content) > UPLOAD_MAX:
        return _back("/payments/mobile-money", "the file is too large")
    try:
        lines = mobile_money.parse_statement(content, get_settings().currency)
    except DomainError as exc:
        return _back("/payments/mobile-money", exc)
    report = mobile_money.reconcile(session, actor, day, lines)
    return render(
        request,
        "mobile_money_reconciliation.html",
        actor,
        title="Mobile-money reconciliation",
        day=day,
        report=report,
        error="",
    )


# -- direct debit ---------------------------------------------------------------------------


@router.get("/direct-debit", response_class=HTMLResponse)
def direct_debit_page(request: Request, session: DbSession, error: str = Query("")) -> Response:
    actor = page_actor(request, session, READ)
    return render(
        request,
        "direct_debit.html",
        actor,
        title="Direct debit",
        mandates=direct_debit.mandates(session, actor, limit=200),
        batches=direct_debit.batches(session, actor, limit=50),
        can_take=actor.has_scope(TAKE),
        can_issue=actor.has_scope(ISSUE),
        error=error[:200],
    )


@router.post("/direct-debit/mandates", response_class=HTMLResponse)
def mandate_from_page(
    request: Request,
    session: DbSession,
    account_number: str = Form(..., min_length=1, max_length=40),
    reference: str = Form(..., min_length=1, max_length=35),
    signed_on: date = Form(...),
    debtor_name: str = Form(..., min_length=1, max_length=70),
    iban: str = Form(..., min_length=5, max_length=42),
    bic: str = Form("", max_length=11),
) -> Response:
    actor = page_actor(request, session, TAKE)
    from billing.payments import matching

    account_id = matching.account_by_number(session, actor, account_number.strip())
    if account_id is None:
        return _back("/direct-debit", f"no account {account_number.strip()[:20]}")
    try:
        direct_debit.create_mandate(
            session,
            actor,
            data=MandateCreate(
                customer_account_id=account_id,
                reference=reference,
                signed_on=signed_on,
                debtor_name=debtor_name,
                iban=iban,
                bic=bic.strip() or None,
            ),
        )
    except DomainError as exc:
        return _back("/direct-debit", exc)
    return RedirectResponse("/direct-debit", status_code=303)


@router.post("/direct-debit/batches", response_class=HTMLResponse)
def batch_from_page(
    request: Request, session: DbSession, collection_date: date = Form(...)
) -> Response:
    actor = page_actor(request, session, ISSUE)
    try:
        batch = direct_debit.make_batch(session, actor, collection_date=collection_date)
    except DomainError as exc:
        return _back("/direct-debit", exc)
    return RedirectResponse(f"/direct-debit/batches/{batch.id}", status_code=303)


@router.post("/direct-debit/returns", response_class=HTMLResponse)
async def returns_from_page(
    request: Request, session: DbSession, file: UploadFile = File(...)
) -> Response:
    actor = page_actor(request, session, TAKE)
    content = await file.read(UPLOAD_MAX + 1)
    try:
        if len(content) > UPLOAD_MAX:
            raise DirectDebitReturnInvalidError("the file is too large")
        report = direct_debit_returns.import_returns(session, actor, content)
    except DomainError as exc:
        return _back("/direct-debit", exc)
    note = f"{len(report.returned)} returned, {len(report.already)} already recorded"
    return RedirectResponse(f"/direct-debit?error={quote(note)}", status_code=303)


@router.get("/direct-debit/batches/{dd_batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, session: DbSession, dd_batch_id: int) -> Response:
    actor = page_actor(request, session, READ)
    batch = direct_debit.batch_seen(session, actor, _id(dd_batch_id, "batch"))
    return render(
        request,
        "direct_debit_batch.html",
        actor,
        title=f"Direct-debit batch {batch.message_id}",
        batch=batch,
        collections=direct_debit.collections_of(session, batch),
    )


# -- prepaid vending ------------------------------------------------------------------------


@router.get("/prepaid", response_class=HTMLResponse)
def prepaid_page(
    request: Request, session: DbSession, error: str = Query(""), meter: str = Query("")
) -> Response:
    actor = page_actor(request, session, TAKE)
    return render(
        request, "prepaid.html", actor, title="Prepaid vending", error=error[:200], meter=meter
    )


@router.post("/prepaid", response_class=HTMLResponse)
def sell_from_page(
    request: Request,
    session: DbSession,
    meter_serial: str = Form(..., min_length=1, max_length=40),
    amount: int = Form(..., gt=0, le=10**12),
) -> Response:
    actor = page_actor(request, session, TAKE)
    contract_id = vending.contract_of_meter(session, actor, meter_serial.strip())
    if contract_id is None:
        return _back("/prepaid", f"no prepaid contract for meter {meter_serial.strip()[:20]}")
    try:
        sold = vending.vend(
            session,
            actor,
            contract_id=contract_id,
            meter_serial=meter_serial.strip(),
            amount=amount,
        )
    except DomainError as exc:
        return _back("/prepaid", exc)
    return RedirectResponse(f"/prepaid/vends/{sold.id}", status_code=303)


@router.get("/prepaid/vends/{vend_id}", response_class=HTMLResponse)
def vend_page(request: Request, session: DbSession, vend_id: int) -> Response:
    actor = page_actor(request, session, TAKE)
    sold = vending.get_vend(session, actor, _id(vend_id, "vend"))
    if sold is None:
        raise EntityNotFoundError(f"no vend {vend_id}")
    return render(request, "prepaid_vend.html", actor, title="Prepaid receipt", vend=sold)


@router.get("/prepaid/meters/{meter_serial}", response_class=HTMLResponse)
def meter_history_page(request: Request, session: DbSession, meter_serial: str) -> Response:
    actor = page_actor(request, session, TAKE)
    found = vending.history_seen(session, actor, meter_serial[:40])
    return render(
        request,
        "prepaid_history.html",
        actor,
        title=f"Purchases of meter {meter_serial[:40]}",
        meter=meter_serial[:40],
        vends=found,
    )
