"""Domain errors with stable codes; the API turns them into RFC 9457 problem details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class FieldError:
    """One invalid input field: where it is (a JSON pointer-like path) and what is wrong."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class DomainError(Exception):
    """Base of every error a user can cause. ``code`` is stable: clients branch on it."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request cannot be processed"
    # Keys of ``extra`` the problem+json answer shows as members of its own (RFC 9457
    # extension members): what a client needs to act on the error; the rest stays inside.
    exposed: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        super().__init__(self.detail)


class InputInvalidError(DomainError):
    code = "validation_failed"
    status = 422
    title = "Input is invalid"


class ReferenceUnknownError(InputInvalidError):
    """A body field names a record that does not exist, or that the caller may not see:
    the two look the same, so a reference never discloses what lies outside a territory."""

    code = "reference_unknown"


class EntityNotFoundError(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class EntityConflictError(DomainError):
    code = "conflict"
    status = 409
    title = "Conflicts with the current state"


class NotAuthenticatedError(DomainError):
    code = "not_authenticated"
    status = 401
    title = "Authentication required"


class PermissionDeniedError(DomainError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class TooManyAttemptsError(DomainError):
    code = "too_many_attempts"
    status = 429
    title = "Too many attempts"
