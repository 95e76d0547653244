"""Sign-in, sign-out, the home page and the map page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import TOKEN_COOKIE, DbSession
from api.web.maps import render_map
from api.web.rendering import page_actor, render
from core.auth.errors import CredentialsInvalidError
from core.auth.service import authenticate
from core.errors import DomainError
from core.settings import get_settings

router = APIRouter(include_in_schema=False)


def safe_next(next_path: str | None) -> str:
    # Only same-site paths: never redirect to another host after sign-in.
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    return next_path


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        _user, token, expires_in = authenticate(
            session, username=username, password=password, client_address=client
        )
    except DomainError as exc:
        if isinstance(exc, CredentialsInvalidError):
            session.commit()  # the failed attempt must count towards the rate limit
        response = render(request, "login.html", None, next=safe_next(next), error=exc.detail)
        response.status_code = exc.status
        return response
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=expires_in,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session)
    return render(request, "home.html", actor, title="Home")


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "network:read")
    settings = get_settings()
    return render(
        request,
        "map.html",
        actor,
        title="Map",
        map=render_map(),
        offline=not settings.tile_url,
    )


def login_redirect(next_path: str) -> Response:
    return RedirectResponse(f"/login?next={quote(next_path)}", status_code=303)
