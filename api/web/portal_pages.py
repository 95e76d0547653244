"""The customers' self-care pages (``/my``): sign-in sets the portal cookie (its own,
never the staff one); the page itself is a small phone-first app over ``/api/v1/portal``
(same origin, the SameSite=Strict HttpOnly cookie authenticates its calls)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.portal_auth import PORTAL_COOKIE
from api.web.rendering import language_context, page_language, templates
from core.errors import DomainError
from core.i18n import language_of
from customers.models import Party
from customers.portal import service as portal

router = APIRouter(include_in_schema=False)


@router.get("/my", response_class=HTMLResponse)
def my_page(request: Request, session: DbSession) -> Response:
    token = request.cookies.get(PORTAL_COOKIE)
    signed_in = False
    language = page_language(request)
    if token:
        try:
            customer = portal.customer_from_token(session, token)
            signed_in = True
            # A signed-in customer reads the portal in their own language (their party's).
            party = session.get(Party, customer.party_id)
            language = language_of(party.language) if party is not None else language
        except DomainError:
            signed_in = False
    return templates.TemplateResponse(
        request,
        "my.html",
        {"signed_in": signed_in, "error": None, **language_context(language)},
    )


@router.post("/my/session", response_class=HTMLResponse)
def my_sign_in(
    request: Request,
    session: DbSession,
    login: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        _identity, token, expires_in = portal.sign_in(session, login=login, password=password)
    except DomainError as exc:
        return templates.TemplateResponse(
            request,
            "my.html",
            {"signed_in": False, "error": exc.detail, **language_context(page_language(request))},
            status_code=401,
        )
    response = RedirectResponse("/my", status_code=303)
    response.set_cookie(
        PORTAL_COOKIE,
        token,
        max_age=expires_in,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/my/logout")
def my_sign_out() -> Response:
    response = RedirectResponse("/my", status_code=303)
    response.delete_cookie(PORTAL_COOKIE)
    return response
