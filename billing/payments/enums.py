"""The vocabularies of payments: channels, instruments, states, kinds of open items."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Where the money came in; with the operator's transaction id it names a payment once."""

    DESK = "desk"
    BANK = "bank"
    MOBILE_MONEY = "mobile_money"
    DIRECT_DEBIT = "direct_debit"
    CHEQUE = "cheque"


class Instrument(StrEnum):
    """What the customer paid with (what revenue protection needs to judge a payment)."""

    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"
    TRANSFER = "transfer"
    MOBILE_MONEY = "mobile_money"
    DIRECT_DEBIT = "direct_debit"


class PaymentStatus(StrEnum):
    POSTED = "posted"
    REVERSED = "reversed"


class ItemKind(StrEnum):
    """What an open receivable item is: allocation pays fees, then interest, then the
    principal of invoices by default."""

    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class SessionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CancellationStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class UnmatchedStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
