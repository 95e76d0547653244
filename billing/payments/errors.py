"""Errors of payments, each with a stable code."""

from __future__ import annotations

from core.errors import (
    EntityConflictError,
    EntityNotFoundError,
    InputInvalidError,
    NotAuthenticatedError,
)


class PaymentInvalidError(InputInvalidError):
    """An amount, a currency, an instrument for the channel ... that cannot be taken."""

    code = "payment_invalid"


class PaymentDuplicateError(EntityConflictError):
    """The channel's transaction id is already a payment: it is posted once."""

    code = "payment_duplicate"


class PaymentNotFoundError(EntityNotFoundError):
    code = "payment_not_found"


class PaymentReversedError(EntityConflictError):
    """The payment is already reversed (cancelled, bounced)."""

    code = "payment_reversed"


class AllocationInvalidError(InputInvalidError):
    """A manual allocation names another account's item, more than is open on an item,
    or more than the payment has left."""

    code = "allocation_invalid"


class ReceivableItemNotFoundError(EntityNotFoundError):
    code = "receivable_item_not_found"


class ReceivableItemDuplicateError(EntityConflictError):
    code = "receivable_item_duplicate"


class CashSessionNotFoundError(EntityNotFoundError):
    code = "cash_session_not_found"


class CashSessionOpenError(EntityConflictError):
    """The cashier already has an open session at this agency today."""

    code = "cash_session_already_open"


class CashSessionClosedError(EntityConflictError):
    """The session is closed: no more payments, no second count."""

    code = "cash_session_closed"


class CashSessionNotYoursError(EntityConflictError):
    """Only the cashier who opened a session takes payments into it."""

    code = "cash_session_not_yours"


class CashCountInvalidError(InputInvalidError):
    code = "cash_count_invalid"


class CancellationInvalidError(EntityConflictError):
    """A cancellation already requested or decided, decided by its requester, or of a
    payment that is not the desk's."""

    code = "cancellation_invalid"


class CancellationNotFoundError(EntityNotFoundError):
    code = "cancellation_not_found"


class DepositInvalidError(InputInvalidError):
    """A deposit of more cash than the session took, or a slip already recorded."""

    code = "deposit_invalid"


class StatementInvalidError(InputInvalidError):
    """The file is not a camt.053 statement Kilowatch can read."""

    code = "statement_invalid"


class StatementImportedError(EntityConflictError):
    code = "statement_already_imported"


class UnmatchedReceiptNotFoundError(EntityNotFoundError):
    code = "unmatched_receipt_not_found"


class UnmatchedReceiptMatchedError(EntityConflictError):
    code = "unmatched_receipt_already_matched"


class CallbackRejectedError(InputInvalidError):
    """A mobile-money callback that cannot be taken (malformed, unknown currency ...)."""

    code = "callback_rejected"


class OperatorNotAuthenticatedError(NotAuthenticatedError):
    """A callback without a valid operator signature, from an address not allowlisted."""

    code = "operator_not_authenticated"


class ChequeRefusedError(InputInvalidError):
    """The account bounced too many cheques to pay by cheque again."""

    code = "cheque_refused"


class ChequeStateError(EntityConflictError):
    """Not a pending cheque (already cleared, bounced, or not a cheque at all)."""

    code = "cheque_not_pending"


class MandateInvalidError(InputInvalidError):
    """An IBAN or BIC that does not check, a signature date in the future ..."""

    code = "mandate_invalid"


class MandateNotFoundError(EntityNotFoundError):
    code = "mandate_not_found"


class MandateConflictError(EntityConflictError):
    """The reference is taken, the account already has an active mandate, or the mandate
    is revoked."""

    code = "mandate_conflict"


class DirectDebitBatchNotFoundError(EntityNotFoundError):
    code = "direct_debit_batch_not_found"


class DirectDebitBatchEmptyError(EntityConflictError):
    """No mandated account owes anything on that date: no file to send."""

    code = "direct_debit_batch_empty"


class DirectDebitReturnInvalidError(InputInvalidError):
    """A return file that cannot be read (not pain.002 nor the documented CSV), or that
    names a collection Kilowatch never sent."""

    code = "direct_debit_return_invalid"


class StatementNotFoundError(EntityNotFoundError):
    code = "bank_statement_not_found"
