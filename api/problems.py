"""RFC 9457 problem details for every error a client can see; never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.db_errors import database_problem
from core.errors import DomainError
from core.flush import sqlstate_of
from core.logging import get_logger

PROBLEM_JSON = "application/problem+json"
log = get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://kilowatch.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return "/".join(parts)


def domain_problem(request: Request, exc: DomainError) -> JSONResponse:
    """The problem+json of a domain error (also used by middlewares that answer early)."""
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    extra = {k: exc.extra[k] for k in ("constraint", *exc.exposed) if k in exc.extra}
    return problem(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=[e.as_dict() for e in exc.errors] or None,
        headers=headers or None,
        **extra,
    )


def _internal_error(request: Request) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    return problem(
        request,
        status=500,
        code="internal_error",
        title="Internal error",
        detail="an unexpected error occurred; it has been logged",
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(request, exc)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        """Whatever reaches the API from the database without a domain translation: a
        constraint checked at commit, a lost connection ... (see ``core.db_errors``)."""
        error = database_problem(exc)
        if error is None:
            return _internal_error(request)
        # The class and SQLSTATE only: the driver's message can quote the values.
        log.warning(
            "database_error",
            path=request.url.path,
            error=type(exc.orig).__name__,
            sqlstate=sqlstate_of(exc),
            code=error.code,
        )
        return domain_problem(request, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _location(err.get("loc", ())),
                "message": err.get("msg", "invalid"),
                "code": err.get("type", "invalid"),
            }
            for err in exc.errors()
        ]
        return problem(
            request,
            status=422,
            code="validation_failed",
            title="Input is invalid",
            detail=f"{len(errors)} field(s) are invalid",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return problem(
            request,
            status=exc.status_code,
            code=code,
            title=code.replace("_", " ").capitalize(),
            detail=str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
        return _internal_error(request)
