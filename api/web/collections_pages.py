"""Collections pages: the dunning policies, an account's collection file (steps done,
next step, holds, plan, timeline), the cut eligibility list with a map of the accounts,
the aged debt with its chart, the collector's worklist and a payment plan. Each needs a
signed-in user with ``collections:read`` and shows only the caller's territory."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.params import Id, OptionalId
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from billing.collections import repository, service, views
from core.errors import InputInvalidError
from core.money import format_money
from core.settings import get_settings
from revenue_protection import supply_policy

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Collections", "/collections/cut-eligible", "collections:read", order=37))
register_nav_item(
    NavItem("Dunning policies", "/collections/policies", "collections:read", order=38)
)
register_nav_item(NavItem("Aged debt", "/collections/aged-debt", "collections:read", order=39))
register_nav_item(NavItem("Worklist", "/collections/worklist", "collections:read", order=40))


def _day(text: str) -> date:
    """A ``YYYY-MM-DD`` query value (today when blank)."""
    try:
        return date.fromisoformat(text) if text.strip() else service.today()
    except ValueError as exc:
        raise InputInvalidError("on: not a date (YYYY-MM-DD)") from exc


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
    timeline = service.timeline_of(session, actor, account_id)
    return render(
        request,
        "collection_file.html",
        actor,
        title=f"Collection file {file.account_number}",
        file=file,
        timeline=timeline,
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
    on = _day(on_text)
    rows, total = repository.cut_eligible(session, actor, on=on, limit=200, offset=offset)
    # What a visit would do (revenue protection's reduce-instead-of-cut policy in force).
    actions = supply_policy.for_accounts(session, [r["customer_account_id"] for r in rows], on)
    rows = [
        {**r, "supply_action": actions[r["customer_account_id"]][0],
         "limit_kva": actions[r["customer_account_id"]][1]}
        for r in rows
    ]  # fmt: skip
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


@router.get("/collections/aged-debt", response_class=HTMLResponse)
def aged_debt_page(
    request: Request,
    session: DbSession,
    on_text: str = Query("", alias="on", max_length=10),
    agency_id: OptionalId = None,
    category: Annotated[str, Query(max_length=60)] = "",
) -> Response:
    actor = page_actor(request, session, "collections:read")
    on = _day(on_text)
    debt = views.aged_debt(
        session, actor, on=on, agency_id=agency_id, category=category.strip() or None
    )
    chart = {
        "labels": [label for _key, label, *_ in views.BUCKETS],
        "datasets": [
            {
                "label": agency or "no agency",
                "data": [
                    sum(r[key] for r in debt["rows"] if r["agency_code"] == agency)
                    for key, *_ in views.BUCKETS
                ],
            }
            for agency in sorted({r["agency_code"] for r in debt["rows"]}, key=lambda a: a or "")
        ],
    }
    return render(
        request,
        "collection_aged_debt.html",
        actor,
        title="Aged debt",
        debt=debt,
        buckets=views.BUCKETS,
        on=on,
        agency_id=agency_id,
        category=category,
        chart=json.dumps(chart),
        money=format_money,
        currency=get_settings().currency,
    )


@router.get("/collections/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request,
    session: DbSession,
    on_text: str = Query("", alias="on", max_length=10),
    agency_id: OptionalId = None,
    sort: Literal["amount", "age"] = "amount",
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    actor = page_actor(request, session, "collections:read")
    on = _day(on_text)
    rows, total = views.worklist(
        session, actor, on=on, agency_id=agency_id, sort=sort, limit=100, offset=offset
    )
    return render(
        request,
        "collection_worklist.html",
        actor,
        title="Collector's worklist",
        rows=rows,
        total=total,
        on=on,
        agency_id=agency_id,
        sort=sort,
        offset=offset,
        money=format_money,
        currency=get_settings().currency,
    )


@router.get("/collections/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(request: Request, session: DbSession, plan_id: Id) -> Response:
    actor = page_actor(request, session, "collections:read")
    plan = service.plan_view(session, actor, plan_id)
    return render(
        request,
        "collection_plan.html",
        actor,
        title=f"Payment plan {plan.id}",
        plan=plan,
        money=format_money,
        currency=get_settings().currency,
    )
