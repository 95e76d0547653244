"""News of payments for the domains above billing (revenue protection restores supply
when money arrives; a bounced cheque re-opens the debt)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from core.events import DomainEvent


class PaymentPosted(DomainEvent):
    """A payment was posted to a customer account's receivable. ``cleared`` is False while
    the money may still fail to arrive (a cheque before it clears)."""

    name: ClassVar[str] = "billing.payment_posted"

    payment_id: int
    customer_account_id: int
    amount: int  # minor units
    currency: str
    channel: str
    instrument: str
    cleared: bool
    value_date: date


class PaymentReversed(DomainEvent):
    """A payment was reversed (cancelled at the desk, a bounced cheque, a returned direct
    debit): its amount is owed again."""

    name: ClassVar[str] = "billing.payment_reversed"

    payment_id: int
    customer_account_id: int
    amount: int
    currency: str
    channel: str
    instrument: str
    cleared: bool
    reason: str


class PaymentCleared(DomainEvent):
    """A payment that was not money yet (a cheque) has cleared: it is now."""

    name: ClassVar[str] = "billing.payment_cleared"

    payment_id: int
    customer_account_id: int
    amount: int
    currency: str
    instrument: str
