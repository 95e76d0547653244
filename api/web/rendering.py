"""Templates and the signed-in check shared by every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from api.deps import TOKEN_COOKIE
from api.web.navigation import nav_for
from core.auth.service import actor_from_token
from core.context import Actor
from core.db import stamp_transaction
from core.errors import NotAuthenticatedError
from core.formats import Formats
from core.i18n import LANGUAGES, gettext_for, language_of, ngettext_for
from core.settings import get_settings

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
# Untranslated by default (a page rendered without ``render``); ``render`` and
# ``page_context`` pass the page language's gettext as ``_``.
templates.env.globals["_"] = lambda message, **values: message % values if values else message
LANGUAGE_COOKIE = "kw_lang"


class LoginRequiredError(Exception):
    """Raised by pages when nobody is signed in; answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def page_actor(request: Request, session: Session, scope: str | None = None) -> Actor:
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise LoginRequiredError(request.url.path)
    try:
        actor = actor_from_token(session, token)
    except NotAuthenticatedError as exc:
        raise LoginRequiredError(request.url.path) from exc
    if scope and not actor.has_scope(scope):
        from core.errors import PermissionDeniedError

        raise PermissionDeniedError(f"this page needs the scope {scope}")
    stamp_transaction(session, actor, getattr(request.state, "request_id", None))
    return actor


def page_language(request: Request, actor: Actor | None = None) -> str:
    """The interface language: the ``kw_lang`` cookie (chosen on this browser), else the
    signed-in user's choice, else the browser's first supported Accept-Language, else the
    deployment's."""
    chosen = request.cookies.get(LANGUAGE_COOKIE) or (actor.language if actor else None)
    if chosen:
        return language_of(chosen)
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip()
        if tag and language_of(tag) == tag.replace("-", "_").split("_")[0].lower():
            return language_of(tag)
    return language_of(get_settings().locale)


def language_context(language: str) -> dict[str, Any]:
    """What every template needs to speak ``language``: ``_`` and ``ngettext`` (new style:
    ``_("Cash desks on %(day)s", day=d)``), ``fmt`` (its dates, numbers and money),
    ``money(minor, currency)`` and the languages one may switch to."""
    formats = Formats.of(language)
    return {
        "lang": language,
        "_": gettext_for(language),
        "ngettext": ngettext_for(language),
        "fmt": formats,
        "money": formats.money,
        "languages": LANGUAGES,
    }


def render(request: Request, template: str, actor: Actor | None, **context: Any) -> Any:
    settings = get_settings()
    return templates.TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "nav": nav_for(actor) if actor else [],
            "currency": settings.currency,
            **language_context(page_language(request, actor)),
            **context,
        },
    )
