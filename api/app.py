"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

import api.routes
import api.web
from api.body_limits import BodyLimitMiddleware
from api.forwarded import ForwardedClientMiddleware
from api.problems import install_problem_handlers
from api.web import pages
from api.web.rendering import LoginRequiredError
from core.context import acting_as
from core.db import new_session
from core.settings import get_settings

STATIC_DIR = Path(__file__).resolve().parent / "static"


def _routers_in(package: ModuleType) -> list[APIRouter]:
    """Every module of ``package`` that defines ``router``: a domain adds its routes or
    pages by adding a module, without editing this file."""
    routers = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if isinstance(getattr(module, "router", None), APIRouter):
            routers.append(module.router)
    return routers


def create_app(
    session_factory: Callable[[], Session] | None = None,
    extra_routers: list[APIRouter] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Kilowatch API",
        version="0.1.0",
        description="Field operations and revenue protection for electricity distributors.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.session_factory = session_factory or new_session
    install_problem_handlers(app)

    @app.exception_handler(LoginRequiredError)
    async def _to_login(_request: Request, exc: LoginRequiredError) -> Response:
        return pages.login_redirect(exc.next_path)

    # Middlewares: the last added runs first. Request id -> client address -> body limits.
    settings = get_settings()
    app.add_middleware(
        BodyLimitMiddleware,
        max_json_bytes=settings.max_json_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(ForwardedClientMiddleware, proxies=settings.trusted_proxies)

    @app.middleware("http")
    async def _request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.request_id = request_id
        with acting_as(None, request_id=request_id):
            response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        return response

    # Pages last: their catch-all paths must not shadow the API.
    for router in [*_routers_in(api.routes), *(extra_routers or []), *_routers_in(api.web)]:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
