"""Errors of collections, each with a stable code."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError


class CollectionPolicyInvalidError(InputInvalidError):
    """Steps out of order, a step without delay, an unknown channel ..."""

    code = "collection_policy_invalid"


class CollectionPolicyNotFoundError(EntityNotFoundError):
    code = "collection_policy_not_found"


class CollectionAccountNotFoundError(EntityNotFoundError):
    code = "collection_account_not_found"


class PaymentPlanInvalidError(InputInvalidError):
    """No item to cover, a down payment above the total, instalments out of order ..."""

    code = "payment_plan_invalid"


class PaymentPlanConflictError(EntityConflictError):
    """The account already has an active plan, or the plan cannot take this step now."""

    code = "payment_plan_conflict"


class PaymentPlanNotFoundError(EntityNotFoundError):
    code = "payment_plan_not_found"


class WriteOffInvalidError(InputInvalidError):
    """Nothing to write off, or more than the account owes."""

    code = "write_off_invalid"


class WriteOffConflictError(EntityConflictError):
    """Approved by the person who asked, or already decided."""

    code = "write_off_conflict"


class WriteOffNotFoundError(EntityNotFoundError):
    code = "write_off_not_found"


class HoldInvalidError(InputInvalidError):
    code = "collection_hold_invalid"
