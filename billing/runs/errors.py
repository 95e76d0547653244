"""Errors of billing runs, each with a stable code."""

from __future__ import annotations

from core.errors import (
    EntityConflictError,
    EntityNotFoundError,
    InputInvalidError,
    PermissionDeniedError,
)


class BillingRunNotFoundError(EntityNotFoundError):
    code = "billing_run_not_found"


class BillingRunTransitionInvalidError(EntityConflictError):
    """The step is not allowed in the run's current status."""

    code = "billing_run_transition_invalid"


class BillingRunApproverIsPreparerError(PermissionDeniedError):
    """Four eyes: the person who prepared a run cannot approve it."""

    code = "billing_run_approver_is_preparer"
    title = "A second person must approve"


class BillingRunSelectionInvalidError(InputInvalidError):
    """The selection names an unknown agency, or selects nothing."""

    code = "billing_run_selection_invalid"
