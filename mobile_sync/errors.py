"""Errors of the sync protocol, each with a stable code (clients branch on them)."""

from __future__ import annotations

from core.errors import (
    DomainError,
    EntityConflictError,
    EntityNotFoundError,
    InputInvalidError,
    NotAuthenticatedError,
    PermissionDeniedError,
)


class DeviceUnknownError(NotAuthenticatedError):
    """No device header, or an id and secret that do not match an enrolled device."""

    code = "device_unknown"
    title = "Device unknown"


class DeviceRevokedError(PermissionDeniedError):
    """The office revoked this device (a lost phone): it may not sync any more."""

    code = "device_revoked"
    title = "Device revoked"


class DeviceNotYoursError(PermissionDeniedError):
    """The device is enrolled by another technician than the token's."""

    code = "device_not_yours"
    title = "Device of another user"


class DeviceNotFoundError(EntityNotFoundError):
    code = "device_not_found"


class CursorInvalidError(InputInvalidError):
    """A pull cursor this server did not issue (or from another device)."""

    code = "cursor_invalid"


class AttachmentHashMismatchError(InputInvalidError):
    """The bytes received do not hash to the sha256 of the path: nothing was stored."""

    code = "attachment_hash_mismatch"


class AttachmentRangeError(EntityConflictError):
    """A chunk that does not start where the received bytes end (``Upload-Offset``), or a
    total that differs from an earlier chunk's."""

    code = "attachment_range_invalid"


class AttachmentTypeError(DomainError):
    """Only JPEG and PNG photos are taken."""

    code = "attachment_type_unsupported"
    status = 415
    title = "Unsupported media type"


class AttachmentNotFoundError(EntityNotFoundError):
    code = "attachment_not_found"


class ConflictNotFoundError(EntityNotFoundError):
    code = "conflict_not_found"


class ConflictResolvedError(EntityConflictError):
    """The conflict was already resolved."""

    code = "conflict_already_resolved"


class RecordRejectedError(DomainError):
    """A pushed record cannot be applied; ``code`` is set per instance (stable codes)."""

    code = "record_rejected"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.reject_code = code


class RecordConflictError(DomainError):
    """A pushed record meets master data the office changed: it goes to the queue."""

    code = "record_conflict"

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        entity_kind: str | None = None,
        entity_id: int | None = None,
        current_version: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.conflict_code = code
        self.entity_kind = entity_kind
        self.entity_id = entity_id
        self.current_version = current_version
