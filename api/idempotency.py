"""``Idempotency-Key`` over HTTP: a route declares ``key: IdempotencyKey`` (after its
``CurrentActor``, whose principal owns the key) and its router uses
``route_class=IdempotentRoute``; nothing else in the route.

The dependency reads the header, fingerprints the request (method, path, body), takes the
key for the request's transaction and, when an identical request already ran, stops the
route before it starts: the route class answers with the stored status and body (marked
``Idempotent-Replayed: true``). Otherwise the route runs, and the route class stores its
successful answer in the same session before the unit of work commits (the route handler
runs inside the request's function-scoped dependencies, so the session is still open).
See ``core.idempotency`` for the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from api.deps import DbSession
from core import idempotency
from core.context import Actor

REPLAYED_HEADER = "Idempotent-Replayed"


class _Replay(Exception):  # a signal carrying the stored answer, not an error
    def __init__(self, answer: idempotency.StoredAnswer) -> None:
        super().__init__("replayed")
        self.answer = answer


@dataclass
class Attempt:
    """This request's claim on its key, until the answer is stored."""

    session: Session
    owner: str
    key: str
    fingerprint: str

    def store(self, response: Response) -> None:
        idempotency.record(
            self.session,
            owner=self.owner,
            key=self.key,
            print_=self.fingerprint,
            status_code=response.status_code,
            media_type=response.media_type or "application/json",
            body=bytes(response.body),
        )


def owner_of(actor: Actor) -> str:
    return f"user:{actor.user_id}" if actor.user_id is not None else f"name:{actor.username}"


async def _claim(
    request: Request,
    session: DbSession,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=idempotency.KEY_MAX_LENGTH,
            description="A client-chosen key (a UUID) naming this attempt: a retry with "
            "the same key and body returns the first answer; another body is refused.",
        ),
    ],
) -> Attempt:
    # The route's own actor (``CurrentActor`` declared before the key: FastAPI resolves
    # parameters in order), not a second token look-up.
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        raise RuntimeError("declare the route's CurrentActor before its IdempotencyKey")
    print_ = idempotency.fingerprint(request.method, request.url.path, await request.body())
    owner = owner_of(actor)
    stored = await run_in_threadpool(
        lambda: idempotency.begin(session, owner=owner, key=idempotency_key, print_=print_)
    )
    if stored is not None:
        raise _Replay(stored)
    attempt = Attempt(session, owner, idempotency.check_key(idempotency_key), print_)
    request.state.idempotency = attempt
    return attempt


IdempotencyKey = Annotated[Attempt, Depends(_claim, scope="function")]


class IdempotentRoute(APIRoute):
    """Answers replays from the store and stores first answers (2xx only: a failed request
    is rolled back and may be retried with its key)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except _Replay as replay:
                answer = replay.answer
                return Response(
                    answer.body,
                    status_code=answer.status_code,
                    media_type=answer.media_type,
                    headers={REPLAYED_HEADER: "true"},
                )
            attempt: Attempt | None = getattr(request.state, "idempotency", None)
            if attempt is not None and 200 <= response.status_code < 300:
                await run_in_threadpool(attempt.store, response)
            return response

        return run
