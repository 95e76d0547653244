"""A portal customer's notification preferences: for each kind of notice (invoice, payment,
connection, case, outage) the channel it reaches them by (e-mail, SMS, a printed letter, or
not at all), and the language they read.

Honoured where each notice is sent:
- invoices go the way their account says (``billing.documents.delivery`` reads
  ``Account.delivery_channel`` and ``language``), so choosing the invoice channel updates
  every account the customer pays (through ``contract_service.update_account``, audited);
- the portal's own notices (a case closed, a connection request's news) go through
  :func:`notice`, which picks the channel and language here and hands the message to
  ``core.notify``, or reports a letter to print or a notice not wanted.

Stored on the identity (JSONB): ``{"language": "fr", "channels": {"invoice": "email" ...}}``;
rows written before (``{"invoice": true ...}``) are read as "the sign-in channel, or none"
(and migration 0024 rewrote them in the new shape).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError, InputInvalidError
from core.i18n import LANGUAGES, language_of
from core.notify import service as notify
from core.notify.message import Channel, Message, Status
from customers import contract_service
from customers.enums import DeliveryChannel
from customers.models import Account, Case, PartyEmail, PartyPhone
from customers.portal.models import PortalIdentity
from customers.schemas import AccountUpdate


class NoticeKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CONNECTION = "connection"
    CASE = "case"
    OUTAGE = "outage"


class NoticeChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    NONE = "none"


class PreferencesInvalidError(InputInvalidError):
    code = "preferences_invalid"
    title = "These notification preferences cannot be kept"


_LANGUAGE = "^(" + "|".join(LANGUAGES) + ")$"


class NotificationPreferences(BaseModel):
    """What the customer chose: a channel per kind of notice, and a language."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(default="fr", pattern=_LANGUAGE)
    channels: dict[NoticeKind, NoticeChannel]


class PreferencesChange(BaseModel):
    """A change of preferences: the kinds named and the language when given; the rest
    stays as it was."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(default=None, pattern=_LANGUAGE)
    channels: dict[NoticeKind, NoticeChannel] = Field(default_factory=dict)


def defaults(sign_in_channel: str, language: str = "fr") -> NotificationPreferences:
    """Everything by the channel the customer signed up with (their e-mail or phone)."""
    return NotificationPreferences(
        language=language_of(language),
        channels={kind: NoticeChannel(sign_in_channel) for kind in NoticeKind},
    )


def read(identity: PortalIdentity) -> NotificationPreferences:
    """The identity's preferences, the older true/false shape read as the sign-in
    channel or none, kinds never chosen as the sign-in channel."""
    stored: dict[str, Any] = dict(identity.preferences or {})
    base = defaults(identity.channel)
    if "channels" not in stored:  # the first version's {"invoice": true, ...}
        for kind in NoticeKind:
            if stored.get(kind.value) is False:
                base.channels[kind] = NoticeChannel.NONE
        return base
    chosen = NotificationPreferences.model_validate(stored)
    return NotificationPreferences(
        language=chosen.language, channels={**base.channels, **chosen.channels}
    )


def _addresses(session: Session, identity: PortalIdentity) -> dict[NoticeChannel, str | None]:
    """Where an e-mail and an SMS reach the customer: the sign-in login first, else the
    party's primary contact."""
    email = identity.login if identity.channel == Channel.EMAIL.value else None
    phone = identity.login if identity.channel == Channel.SMS.value else None
    email = email or session.scalar(
        select(PartyEmail.email)
        .where(PartyEmail.party_id == identity.party_id)
        .order_by(PartyEmail.is_primary.desc(), PartyEmail.id)
        .limit(1)
    )
    phone = phone or session.scalar(
        select(PartyPhone.e164)
        .where(PartyPhone.party_id == identity.party_id)
        .order_by(PartyPhone.is_primary.desc(), PartyPhone.id)
        .limit(1)
    )
    return {NoticeChannel.EMAIL: email, NoticeChannel.SMS: phone}


def save(
    session: Session, actor: Actor, identity: PortalIdentity, change: PreferencesChange
) -> NotificationPreferences:
    """Keep the customer's choice (kinds not named keep theirs) and apply the invoice
    channel and the language to every account the customer pays."""
    before = read(identity)
    merged = NotificationPreferences(
        language=change.language or before.language,
        channels={**before.channels, **change.channels},
    )
    addresses = _addresses(session, identity)
    unreachable = [
        FieldError(f"channels/{kind.value}", f"you have no {channel.value} address with us")
        for kind, channel in merged.channels.items()
        if channel in addresses and not addresses[channel]
    ]
    if merged.channels[NoticeKind.INVOICE] is NoticeChannel.NONE:
        unreachable.append(
            FieldError("channels/invoice", "invoices are always sent: e-mail, SMS or letter")
        )
    if unreachable:
        raise PreferencesInvalidError("some choices cannot be honoured", errors=unreachable)
    identity.preferences = merged.model_dump(mode="json")
    invoice = merged.channels[NoticeKind.INVOICE]
    delivery = (
        DeliveryChannel.PAPER if invoice is NoticeChannel.LETTER else DeliveryChannel(invoice.value)
    )
    accounts = list(
        session.scalars(
            select(Account.id)
            .where(Account.payer_party_id == identity.party_id)
            .order_by(Account.id)
        )
    )
    # Only addresses known are passed: an account's own address is never wiped.
    known = {
        field: value
        for field, value in (
            ("delivery_email", addresses[NoticeChannel.EMAIL]),
            ("delivery_phone", addresses[NoticeChannel.SMS]),
        )
        if value
    }
    for account_id in accounts:
        contract_service.update_account(
            session,
            actor=actor,
            account_id=account_id,
            data=AccountUpdate(
                delivery_channel=delivery,
                language=merged.language,
                reason="the customer's choice on the portal",
                **known,
            ),
        )
    session.flush()
    return merged


class NoticeOutcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    LETTER = "letter"  # to print and post: the desk's print run
    NOT_WANTED = "not_wanted"
    NO_PORTAL = "no_portal"  # the party has no portal identity: the desk's own channels


def notice(
    session: Session,
    actor: Actor,
    *,
    party_id: int,
    kind: NoticeKind,
    texts: dict[str, tuple[str, str]],
    reference: str,
) -> NoticeOutcome:
    """Send a notice of ``kind`` to a portal customer the way they chose. ``texts`` is
    ``{language: (subject, body)}`` and must hold French (the source language): the
    customer's language is used when present. Call it after the news committed (a
    handler of a domain event), as ``core.notify`` asks; ``reference`` names the news, so
    a redelivered event sends nothing twice."""
    identity = session.scalar(select(PortalIdentity).where(PortalIdentity.party_id == party_id))
    if identity is None or not identity.is_active:
        return NoticeOutcome.NO_PORTAL
    chosen = read(identity)
    channel = chosen.channels[kind]
    if channel is NoticeChannel.NONE:
        return NoticeOutcome.NOT_WANTED
    if channel is NoticeChannel.LETTER:
        return NoticeOutcome.LETTER
    if any(n.status == Status.SENT.value for n in notify.deliveries(session, reference)):
        return NoticeOutcome.SENT  # a redelivered event: told once
    address = _addresses(session, identity)[channel]
    if not address:
        return NoticeOutcome.FAILED
    language = chosen.language if chosen.language in texts else "fr"
    subject, body = texts[language]
    row = notify.send(
        session,
        actor,
        Message(
            channel=Channel(channel.value),
            to=(address,),
            subject=subject,
            body=body,
            language=language,
        ),
        reference=reference,
    )
    return NoticeOutcome.SENT if row.status == Status.SENT.value else NoticeOutcome.FAILED


def case_closed(session: Session, actor: Actor, *, case_id: int) -> NoticeOutcome:
    """Tell a portal customer that their complaint or request is closed, and how."""
    case = session.get(Case, case_id)
    if case is None or case.party_id is None:
        return NoticeOutcome.NO_PORTAL
    how = case.resolution or ""
    texts = {
        "fr": (
            f"Votre demande {case.number} est clôturée",
            f"Votre demande {case.number} ({case.subject}) est clôturée. {how}".strip(),
        ),
        "en": (
            f"Your request {case.number} is closed",
            f"Your request {case.number} ({case.subject}) is closed. {how}".strip(),
        ),
        "pt": (
            f"O seu pedido {case.number} foi encerrado",
            f"O seu pedido {case.number} ({case.subject}) foi encerrado. {how}".strip(),
        ),
    }
    return notice(
        session,
        actor,
        party_id=case.party_id,
        kind=NoticeKind.CASE,
        texts=texts,
        reference=f"case:{case.id}:closed",
    )
