"""Closed vocabularies of invoices (stored as text, checked by the database)."""

from __future__ import annotations

from enum import StrEnum


class InvoiceKind(StrEnum):
    """What a numbered billing document is."""

    INVOICE = "invoice"  # a bill: the customer owes its total
    CREDIT_NOTE = "credit_note"  # cancels an invoice: the negative mirror of its lines


class InvoiceStatus(StrEnum):
    """Where an issued document stands. The only column of an issued row that may change
    (migration 0013's trigger): ``issued`` -> ``credited`` when a credit note cancels it."""

    ISSUED = "issued"
    CREDITED = "credited"


class InvoiceReason(StrEnum):
    """Why a document was issued (shown on it, and used by reports)."""

    CYCLE = "cycle"  # a billing run
    REBILL = "rebill"  # the corrected bill replacing a credited one
    TRUE_UP = "true_up"  # the actual read replacing an estimated bill
    FINAL = "final"  # the last bill of a move-out or termination
    CORRECTION = "correction"  # a credit note cancelling an invoice
    BACK_BILLING = "back_billing"  # unbilled energy assessed after an inspection (NTL case)


# The series each kind is numbered in, unless the caller names another: one gap-free
# sequence per series (``billing_invoice_series``).
DEFAULT_SERIES = {InvoiceKind.INVOICE: "F", InvoiceKind.CREDIT_NOTE: "AV"}
