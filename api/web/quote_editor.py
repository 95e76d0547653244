"""Staff pages of a connection request's quote: the editor (change the surveyed cable
length, the type and power, whether a meter is supplied, lines the price list does not
name; see the draft re-priced from the price list in force; issue it as the next version)
and the price list page (every version, every connection type)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import DbSession
from api.params import Id
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core.errors import DomainError
from field.connections import service
from field.connections.pricing import PriceListDefinition
from field.connections.schemas import QuoteIn

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Connection prices", "/connections/prices", "tariffs:read", order=36))

EXTRA_ROWS = 3  # blank extra lines the editor offers (a quote takes up to 20 by the API)
# Statuses whose quote may still be re-priced: before the customer accepts it.
EDITABLE = ("submitted", "surveying", "quoted")


def _options(fields: dict[str, Any]) -> QuoteIn:
    """The editor's form as the API's quote body (same validation, same limits)."""
    extra = []
    for n in range(1, EXTRA_ROWS + 1):
        label = str(fields.get(f"extra_label_{n}", "")).strip()
        if label:
            extra.append(
                {
                    "label": label,
                    "quantity": fields.get(f"extra_quantity_{n}") or "1",
                    "unit_price": fields.get(f"extra_price_{n}") or "0",
                }
            )
    return QuoteIn.model_validate(
        {
            "distance_m": fields.get("distance_m") or None,
            "connection_type": fields.get("connection_type") or None,
            "subscribed_kva": fields.get("subscribed_kva") or None,
            "include_meter": fields.get("include_meter") == "on",
            "extra_lines": extra,
        }
    )


def _editor(
    request: Request, session: Any, actor: Any, request_id: int, fields: dict[str, Any]
) -> Response:
    row = service.staff_request(session, actor, request_id)
    current = service.current_quote(session, row.id)
    versions = service.quote_versions(session, row.id)
    draft, error = None, None
    if fields:  # "Recompute": the draft, priced, nothing stored
        try:
            _list, distance, priced = service.price_request(
                session, row, service.options_from(_options(fields))
            )
            draft = {"distance_m": distance, "priced": priced, "lines": service.quote_lines(priced)}
        except (DomainError, ValidationError, InvalidOperation) as exc:
            error = getattr(exc, "detail", None) or str(exc)
    try:
        types = PriceListDefinition.model_validate(
            service.price_list_in_force(session, datetime.now(UTC).date()).definition
        ).connection_types
    except DomainError as exc:
        types, error = {}, error or exc.detail
    page: Response = render(
        request,
        "connection_quote.html",
        actor,
        title=f"Quote of {row.number}",
        row=row,
        current=current,
        versions=versions,
        draft=draft,
        error=error,
        fields=fields,
        types=types,
        editable=row.status in EDITABLE,
        extra_rows=range(1, EXTRA_ROWS + 1),
        include_meter_default=row.kind == "new_connection",
    )
    page.status_code = 422 if error else 200
    return page


@router.get("/connections/{request_id}/quote", response_class=HTMLResponse)
def quote_editor(request_id: Id, request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "customers:read")
    return _editor(request, session, actor, request_id, dict(request.query_params))


@router.post("/connections/{request_id}/quote", response_class=HTMLResponse)
async def issue_version(request_id: Id, request: Request, session: DbSession) -> Response:
    """Issue the edited quote as the next version (the previous one is superseded)."""
    actor = page_actor(request, session, "customers:write")
    fields = dict(await request.form())
    try:
        body = _options(fields)
        row = service.staff_request(session, actor, request_id)
        service.issue_quote(
            session, actor=actor, request_id=row.id, options=service.options_from(body)
        )
    except (DomainError, ValidationError, InvalidOperation):
        session.rollback()  # nothing of a refused version is kept; the editor says why
        return _editor(request, session, actor, request_id, fields)
    return RedirectResponse(f"/connections/{request_id}/quote", status_code=303)


@router.get("/connections/prices", response_class=HTMLResponse)
def price_lists(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "tariffs:read")
    lists = service.price_lists(session)
    page: Response = render(
        request,
        "connection_prices.html",
        actor,
        title="Connection price lists",
        lists=[(p, PriceListDefinition.model_validate(p.definition)) for p in lists],
        Decimal=Decimal,
    )
    return page
