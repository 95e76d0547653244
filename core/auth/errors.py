"""Errors of sign-in and user administration."""

from __future__ import annotations

from core.errors import (
    EntityConflictError,
    EntityNotFoundError,
    InputInvalidError,
    NotAuthenticatedError,
    TooManyAttemptsError,
)


class CredentialsInvalidError(NotAuthenticatedError):
    code = "credentials_invalid"


class LoginRateLimitedError(TooManyAttemptsError):
    code = "login_rate_limited"


class UserExistsError(EntityConflictError):
    code = "user_exists"


class UserInactiveError(NotAuthenticatedError):
    code = "user_inactive"


class AgencyNotFoundError(EntityNotFoundError):
    code = "agency_not_found"


class RoleUnknownError(InputInvalidError):
    code = "role_unknown"


class SignInInputInvalidError(InputInvalidError):
    code = "sign_in_invalid"


class LanguageUnknownError(InputInvalidError):
    """A language the interface does not speak (``core.i18n.LANGUAGES``)."""

    code = "language_unknown"
