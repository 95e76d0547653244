"""Errors of the meter domain, each with a stable code."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError


class MeterNotFoundError(EntityNotFoundError):
    code = "meter_not_found"


class UsagePointNotFoundError(EntityNotFoundError):
    code = "usage_point_not_found"


class RegisterNotFoundError(EntityNotFoundError):
    code = "register_not_found"


class InstallationNotFoundError(EntityNotFoundError):
    code = "installation_not_found"


class MeterSerialTakenError(EntityConflictError):
    code = "meter_serial_taken"


class MeterTransitionInvalidError(EntityConflictError):
    """The meter's lifecycle does not allow this move (e.g. installing a scrapped meter)."""

    code = "meter_transition_invalid"


class MeterInstallationConflictError(EntityConflictError):
    """The meter is already installed, or the usage point already has an active meter for
    this register set, over that time."""

    code = "meter_installation_conflict"


class MeterIndexInvalidError(InputInvalidError):
    code = "meter_index_invalid"


class RuleSetInvalidError(InputInvalidError):
    code = "rule_set_invalid"


class ReadingImportInvalidError(InputInvalidError):
    """The file cannot be imported as a whole: the field errors name each bad line."""

    code = "reading_import_invalid"


class ReadingInvalidError(InputInvalidError):
    code = "reading_invalid"


class ReadingImplausibleError(InputInvalidError):
    """A customer's own read that the readings rules reject, or flag without the customer
    confirming it: nothing is stored; ``extra`` carries the reason codes and the range the
    rules expect, so the form can say what looks wrong."""

    code = "reading_implausible"
    title = "This reading does not look right"
    exposed = ("reason_codes", "can_confirm", "expected")
