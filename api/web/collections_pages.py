"""Collections pages: the dunning policies, an account's collection file (steps done,
next step, holds, plan) and the cut eligibility list with a map of the accounts."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.params import Id
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from billing.collections import repository, service
from core.errors import InputInvalidError
from core.money import format_money
from core.settings import get_settings

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Collections", "/collections/cut-eligible", "collections:read", order=37))
register_nav_item(
    NavItem("Dunning policies", "/collections/policies", "collections:read", order=38)
)


@router.get("/collections/policies", response_class=HTMLResponse)
def policies_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "collections:read")
    policies = [service.policy_read(session, p) for p in repository.policies(session, actor)]
    return render(
        request,
        "collection_policies.html",
        actor,
        title="Dunning policies",
        policies=policies,
        money=format_money,
        currency=get_settings().currency,
    )


@router.get("/collections/accounts/{account_id}", response_class=HTMLResponse)
def collection_file_page(request: Request, session: DbSession, account_id: Id) -> Response:
    actor = page_actor(request, session, "collections:read")
    file = service.file_of(session, actor, account_id)
    return render(
        request,
        "collection_file.html",
        actor,
        title=f"Collection file {file.account_number}",
        file=file,
        money=format_money,
        currency=get_settings().currency,
    )


@router.get("/collections/cut-eligible", response_class=HTMLResponse)
def cut_eligible_page(
    request: Request,
    session: DbSession,
    on_text: str = Query("", alias="on", max_length=10),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    actor = page_actor(request, session, "collections:read")
    try:
        on = date.fromisoformat(on_text) if on_text.strip() else service.today()
    except ValueError as exc:
        raise InputInvalidError("on: not a date (YYYY-MM-DD)") from exc
    rows, total = repository.cut_eligible(session, actor, on=on, limit=200, offset=offset)
    points = [
        {"lon": r["lon"], "lat": r["lat"], "number": r["account_number"]}
        for r in rows
        if r["lon"] is not None
    ]
    return render(
        request,
        "collection_cut_eligible.html",
        actor,
        title="Cut eligibility",
        rows=rows,
        total=total,
        on=on,
        offset=offset,
        points=points,
        money=format_money,
        currency=get_settings().currency,
    )
