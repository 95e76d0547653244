"""Payment pages: every cash desk of a day as a supervisor sees it, and the queue of
unmatched receipts with a form to match one to an account by its number."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from billing.payments import cash_desk, matching, service
from core.errors import ReferenceUnknownError
from core.pages import BIGINT_MAX

router = APIRouter(include_in_schema=False)

SUPERVISE = "payments:approve"
TAKE = "payments:write"
register_nav_item(NavItem("Cash desks", "/cash-desks", SUPERVISE, order=60))
register_nav_item(NavItem("Unmatched payments", "/payments/unmatched", TAKE, order=61))


@router.get("/cash-desks", response_class=HTMLResponse)
def cash_desks_page(
    request: Request, session: DbSession, day: date | None = Query(None)
) -> Response:
    actor = page_actor(request, session, SUPERVISE)
    shown = day or service.local_date(datetime.now(UTC))
    return render(
        request,
        "cash_desks.html",
        actor,
        title="Cash desks",
        day=shown,
        desks=cash_desk.desks(session, actor, shown),
    )


@router.get("/payments/unmatched", response_class=HTMLResponse)
def unmatched_page(request: Request, session: DbSession, error: str = Query("")) -> Response:
    actor = page_actor(request, session, TAKE)
    return render(
        request,
        "unmatched.html",
        actor,
        title="Unmatched payments",
        receipts=matching.unmatched_queue(session, actor, limit=200, offset=0),
        error=error[:200],
    )


@router.post("/payments/unmatched/{receipt_id}/match", response_class=HTMLResponse)
def match_from_page(
    request: Request,
    session: DbSession,
    receipt_id: int,
    account_number: str = Form(..., min_length=1, max_length=40),
) -> Response:
    actor = page_actor(request, session, TAKE)
    if not 1 <= receipt_id <= BIGINT_MAX:
        raise ReferenceUnknownError(f"no receipt {receipt_id}")
    account_id = matching.account_by_number(session, actor, account_number.strip())
    if account_id is None:
        return RedirectResponse(
            f"/payments/unmatched?error=no+account+{account_number.strip()[:20]}", status_code=303
        )
    matching.match_by_hand(session, actor, receipt_id, customer_account_id=account_id)
    return RedirectResponse("/payments/unmatched", status_code=303)
