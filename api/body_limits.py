"""Request bodies: size limits counted while the body is read, and no upload read before
its sender has shown a valid token.

Two kinds of body (settings ``max_json_bytes`` and ``max_upload_bytes``):

- small bodies: JSON (``application/json``, ``application/*+json``), URL-encoded forms
  (the sign-in form), ``text/plain`` and bodies without a content type;
- uploads: every other content type (``multipart/form-data`` first of all). An upload is
  refused with 401 before a single byte of it is read unless it carries a bearer token (or
  the pages' ``kw_token`` cookie) whose signature and expiry are valid. The route still
  checks the user and scopes in the database; this check only keeps anonymous senders from
  making the server receive and parse megabytes. The OAuth2 token endpoint therefore takes
  URL-encoded forms only, as RFC 6749 says. A customer's portal token (bearer or the
  ``kw_portal`` cookie) counts as well: the portal takes meter photos with self-reads.

A declared ``Content-Length`` beyond the limit is answered 413 at once; otherwise the
bytes are counted as the application receives them (chunked bodies, lying lengths) and
the read that passes the limit ends the request with 413.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import TOKEN_COOKIE
from api.portal_auth import PORTAL_COOKIE
from api.problems import domain_problem, problem
from core.auth.tokens import decode_token
from core.errors import NotAuthenticatedError
from customers.portal.tokens import decode_portal_token

_SMALL_TYPES = {"application/json", "application/x-www-form-urlencoded", "text/plain", ""}


class BodyTooLargeError(StarletteHTTPException):
    """Raised from ``receive`` when the body passes its limit; FastAPI lets Starlette's
    HTTP exceptions out of body parsing, so the app's handlers answer it (problem+json)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def is_upload(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type not in _SMALL_TYPES and not media_type.endswith("+json")


def _may_have_body(headers: Headers) -> bool:
    # Only an explicit zero is believed: HTTP/2 bodies need neither length nor chunking.
    return headers.get("content-length") != "0"


def _declared_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def _tokens(headers: Headers, scope: Scope) -> list[str]:
    """The bearer token, else the pages' cookies (a staff page's, a customer's)."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return [credentials.strip()]
    cookies = Request(scope).cookies
    return [t for t in (cookies.get(TOKEN_COOKIE), cookies.get(PORTAL_COOKIE)) if t]


def _upload_refusal(headers: Headers, scope: Scope) -> NotAuthenticatedError | None:
    """Why this upload may not be read, or None when a staff or portal token is valid."""
    tokens = _tokens(headers, scope)
    if not tokens:
        return NotAuthenticatedError("a bearer token is required to upload a file")
    refusals = []
    for token in tokens:
        try:
            decode_token(token)  # signature and expiry: no database needed
            return None
        except NotAuthenticatedError as exc:
            refusals.append(exc)  # the staff answer is the one told
        try:
            decode_portal_token(token)
            return None
        except NotAuthenticatedError:
            pass
    return refusals[0]


class BodyLimitMiddleware:
    """Pure ASGI (no buffering): counts the body bytes the application receives."""

    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = is_upload(headers.get("content-type"))
        limit = self.max_upload_bytes if upload else self.max_json_bytes
        if upload and _may_have_body(headers):
            refusal = _upload_refusal(headers, scope)
            if refusal is not None:
                await domain_problem(Request(scope), refusal)(scope, receive, send)
                return
        declared = _declared_length(headers)
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            # Read outside FastAPI's body parsing (a route streaming the body itself).
            if response_started:
                raise
            await self._too_large(scope, receive, send, limit)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            Request(scope),
            status=413,
            code="payload_too_large",
            title="Payload too large",
            detail=f"the request body is larger than {limit} bytes",
        )
        await response(scope, receive, send)
