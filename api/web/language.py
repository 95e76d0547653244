"""The language switch in the page header: the choice is kept in a cookie for this browser
and, for a signed-in user, on their account (so it follows them to another device)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DbSession
from api.web.pages import safe_next
from api.web.rendering import LANGUAGE_COOKIE, page_actor
from core.auth.service import set_language
from core.i18n import LANGUAGES

router = APIRouter(include_in_schema=False)
ONE_YEAR = 365 * 24 * 3600


@router.post("/language")
def choose_language(
    request: Request,
    session: DbSession,
    language: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    actor = page_actor(request, session)
    chosen = set_language(session, actor, language)  # an unknown one: a 422 problem
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen or LANGUAGES[0],
        max_age=ONE_YEAR,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response
