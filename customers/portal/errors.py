"""Errors of the customers' portal sign-in (stable codes for the problem+json answers)."""

from __future__ import annotations

from core.errors import (
    EntityConflictError,
    EntityNotFoundError,
    InputInvalidError,
    NotAuthenticatedError,
)


class PortalLoginTakenError(EntityConflictError):
    code = "portal_login_taken"
    title = "This e-mail or phone already has a portal account"


class PortalCredentialsInvalidError(NotAuthenticatedError):
    code = "portal_credentials_invalid"
    title = "Login or password is wrong"


class PortalNotVerifiedError(NotAuthenticatedError):
    code = "portal_not_verified"
    title = "The e-mail or phone is not verified yet"


class PortalCodeInvalidError(InputInvalidError):
    code = "portal_code_invalid"
    title = "The code is wrong or has expired"


class PortalAccountNotFoundError(EntityNotFoundError):
    code = "portal_account_not_found"
    title = "No such account among yours"
