"""News of collections for the domains above billing: revenue protection turns a newly
cut-eligible account into a cut order, field plans a dunning visit."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from core.events import DomainEvent


class CutEligibilityGranted(DomainEvent):
    """An account's dunning reached a step that allows cutting its supply."""

    name: ClassVar[str] = "billing.cut_eligibility_granted"

    customer_account_id: int
    amount_due: int  # minor units overdue when the step fired
    currency: str
    on: date


class CollectionVisitRequested(DomainEvent):
    """A dunning step asks an agent to call on the customer."""

    name: ClassVar[str] = "billing.collection_visit_requested"

    customer_account_id: int
    action_id: int
    amount_due: int
    currency: str
    on: date
