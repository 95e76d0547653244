"""The customers' principal on the API: its own OAuth2 scheme (``PortalBearer``, token URL
``/api/v1/portal/token``), never the staff one. A staff token is refused here (wrong
audience) and a portal token is refused by every staff route (an audience it does not ask
for), so neither side can borrow the other's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer

from api.deps import DbSession
from core.db import stamp_transaction
from core.errors import NotAuthenticatedError
from customers.portal.service import Customer, customer_from_token

PORTAL_COOKIE = "kw_portal"

portal_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/portal/token", scheme_name="PortalBearer", auto_error=False
)


def get_customer(
    request: Request,
    session: DbSession,
    bearer: Annotated[str | None, Depends(portal_scheme)],
) -> Customer:
    token = bearer or request.cookies.get(PORTAL_COOKIE)
    if not token:
        raise NotAuthenticatedError("a portal bearer token is required")
    customer = customer_from_token(session, token)
    stamp_transaction(session, customer.actor, getattr(request.state, "request_id", None))
    return customer


CurrentCustomer = Annotated[Customer, Security(get_customer)]
