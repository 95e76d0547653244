"""A campaign visit where the customer paid at the door: not a cut. The supply was left
on (``field`` does not change it for the finding ``paid_on_spot``); what was paid is kept
on the campaign item and, when the agent took the money, posted through billing's payment
service (its ledger, its ``PaymentPosted``); a receipt of a payment made elsewhere is
recorded as a claim for the back office to verify against the payments."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from billing.payments import service as payments
from billing.payments.enums import Channel, Instrument
from billing.payments.schemas import PaymentCreate
from core.context import SYSTEM
from revenue_protection.models import Campaign, CampaignItem


def record(session: Session, campaign: Campaign, item: CampaignItem, paid: dict[str, Any]) -> None:
    """Keep what was paid on the item; post it when the agent took it."""
    item.paid_amount = int(paid["amount"])
    item.paid_reference = str(paid["reference"])
    if not paid.get("taken") or item.account_id is None:
        item.paid_status = "to_verify"
        return
    mobile = paid.get("instrument") == "mobile_money"
    if mobile:
        # The operator's own notice may have posted this transaction already: the same
        # money, so the visit points at that payment instead of posting it twice.
        known = payments.existing(session, Channel.MOBILE_MONEY, item.paid_reference)
        if known is not None and known.customer_account_id == item.account_id:
            item.payment_id, item.paid_status = known.id, "posted"
            return
        if known is not None:  # someone else's transaction: the back office looks at it
            item.paid_status = "to_verify"
            return
    payment = payments.record_payment(
        session,
        SYSTEM,
        data=PaymentCreate(
            customer_account_id=item.account_id,
            amount=item.paid_amount,
            channel=Channel.MOBILE_MONEY if mobile else Channel.DESK,
            instrument=Instrument.MOBILE_MONEY if mobile else Instrument.CASH,
            # A mobile-money receipt names the transaction once on its channel.
            external_id=item.paid_reference if mobile else None,
            reference=f"paid on the spot, campaign {campaign.id}: {item.paid_reference}",
        ),
    )
    item.payment_id, item.paid_status = payment.id, "posted"
