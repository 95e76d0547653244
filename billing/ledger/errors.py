"""Errors of the ledger, each with a stable code."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError


class LedgerTransactionUnbalancedError(InputInvalidError):
    """The postings of a transaction do not sum to zero, or there are fewer than two."""

    code = "ledger_transaction_unbalanced"


class LedgerPostingInvalidError(InputInvalidError):
    """A posting of zero, on an unknown account, or naming a customer account where the
    account keeps no sub-ledger (or not naming one where it does)."""

    code = "ledger_posting_invalid"


class LedgerAccountConflictError(EntityConflictError):
    """A chart entry redefines an existing account's kind or sub-ledger."""

    code = "ledger_account_conflict"


class LedgerSourcePostedError(EntityConflictError):
    """The source document (an invoice, a receipt) is already in the ledger."""

    code = "ledger_source_posted"


class LedgerTransactionReversedError(EntityConflictError):
    """The transaction is already reversed (or is itself a reversal)."""

    code = "ledger_transaction_reversed"


class LedgerTransactionNotFoundError(EntityNotFoundError):
    code = "ledger_transaction_not_found"
