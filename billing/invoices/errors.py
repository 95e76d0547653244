"""Errors of invoices and credit notes, each with a stable code."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError


class InvoiceNotFoundError(EntityNotFoundError):
    code = "invoice_not_found"


class InvoicePeriodBilledError(EntityConflictError):
    """The usage point already has an issued bill for a day of the period (the database's
    exclusion constraint says so, or the check before it)."""

    code = "invoice_period_billed"


class InvoiceAlreadyCreditedError(EntityConflictError):
    """The invoice is already cancelled by a credit note (or is itself a credit note)."""

    code = "invoice_already_credited"


class InvoiceNotEstimatedError(EntityConflictError):
    """A true-up was asked for a bill that was not rated on an estimate."""

    code = "invoice_not_estimated"


class TrueUpNotReadyError(EntityConflictError):
    """No actual read has replaced the estimate of the bill's period yet."""

    code = "true_up_not_ready"


class FinalBillNotReadyError(EntityConflictError):
    """The contract has not ended, or its final reading is not in yet, or nothing is left
    to bill."""

    code = "final_bill_not_ready"


class InvoiceUsageInvalidError(InputInvalidError):
    """The consumption given for a re-bill does not fit the contract's tariff."""

    code = "invoice_usage_invalid"


class SeriesExistsError(EntityConflictError):
    """A numbering series of that name exists already (series are unique across companies:
    their name is in every payment reference)."""

    code = "series_exists"
