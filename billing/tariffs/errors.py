"""Errors of tariffs and rating, each with a stable code."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError


class TariffNotFoundError(EntityNotFoundError):
    code = "tariff_not_found"


class TariffVersionNotFoundError(EntityNotFoundError):
    code = "tariff_version_not_found"


class TariffCodeTakenError(EntityConflictError):
    code = "tariff_code_taken"


class TariffVersionConflictError(EntityConflictError):
    """A version already starts on that date with other content: versions are never
    edited, a change is a new version from a later date."""

    code = "tariff_version_conflict"


class TariffNotInForceError(InputInvalidError):
    """The period to bill starts before the tariff's first version."""

    code = "tariff_not_in_force"


class UsageInvalidError(InputInvalidError):
    """What is to be billed does not fit the tariff (a register it does not price, a
    per-kVA charge and no subscribed power, negative kWh)."""

    code = "usage_invalid"


class TariffDocumentInvalidError(InputInvalidError):
    """An imported YAML/JSON tariff document is unreadable or does not validate."""

    code = "tariff_document_invalid"
