"""Dunning notices: rendered in the account's language (gettext catalogues, core.i18n), sent
through core.notify (SMS, e-mail) or rendered as a PDF letter (WeasyPrint) for print,
every one recorded on the customer's interactions.

Sent after the night's steps have committed (``send_pending``), so a rolled-back advance
never tells a customer about a step that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.collections.models import CollectionAction
from core.context import Actor
from core.formats import Formats
from core.i18n import N_, gettext_for, language_of
from core.notify import service as notify
from core.notify.message import Channel, Message, Status
from core.settings import get_settings
from customers import service as customers
from customers.enums import InteractionChannel, InteractionDirection
from customers.models import Account, Party, PartyEmail, PartyPhone
from customers.schemas import InteractionCreate

# What each step tells the customer, in the catalogues' source language (French); the
# account's language picks the translation (core.i18n), its locale the amount and dates.
SUBJECTS = {
    "notice": N_("Rappel d'impayé"),
    "cut_eligible": N_("Avis de coupure"),
    "litigation": N_("Mise en demeure"),
}
TEXTS = {
    "notice": N_(
        "%(utility)s : RAPPEL. Votre compte %(account)s présente %(amount)s impayés"
        " (échéance du %(since)s). Merci de régler sans tarder."
    ),
    "cut_eligible": N_(
        "%(utility)s : AVIS DE COUPURE. Votre compte %(account)s présente %(amount)s impayés"
        " (échéance du %(since)s). Sans règlement, votre alimentation peut être coupée."
    ),
    "litigation": N_(
        "%(utility)s : MISE EN DEMEURE. Votre compte %(account)s présente %(amount)s impayés"
        " depuis le %(since)s. Le dossier est transmis au contentieux."
    ),
}
FEE = N_("Frais : %(fee)s.")


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    )


@dataclass(frozen=True)
class Notice:
    """A notice's words in the customer's language."""

    language: str
    subject: str
    text: str


def render(action: CollectionAction, account: Account, fee: int = 0) -> Notice:
    """The notice of ``action`` in the account's language (French when it has none of
    ours): one text for the SMS, the e-mail and the letter."""
    language = language_of(account.language)
    _, formats = gettext_for(language), Formats.of(language)
    currency = get_settings().currency
    kind = action.action if action.action in TEXTS else "notice"
    text = _(
        TEXTS[kind],
        utility=get_settings().utility_name,
        account=account.number,
        amount=formats.money(action.amount_due, currency),
        since=formats.date(action.cycle_start, "medium"),
    )
    if fee:
        text += " " + _(FEE, fee=formats.money(fee, currency))
    return Notice(language, _(SUBJECTS[kind]), text)


def letter_html(action: CollectionAction, account: Account, payer: str, fee: int = 0) -> str:
    """The notice as the letter printed and posted: letterhead, addressee, date, the
    notice's text and the amount, in the account's language."""
    notice = render(action, account, fee)
    settings = get_settings()
    formats = Formats.of(notice.language)
    return (
        _env()
        .get_template("letter.html.j2")
        .render(
            _=gettext_for(notice.language),
            language=notice.language,
            subject=notice.subject,
            text=notice.text,
            utility=settings.utility_name,
            utility_address=settings.utility_address,
            payer=payer,
            account=account.number,
            amount=formats.money(action.amount_due, settings.currency),
            today=formats.date(action.done_on, "long"),
        )
    )


def letter_pdf(session: Session, action: CollectionAction) -> bytes:
    """The notice as a printable PDF letter."""
    from weasyprint import HTML

    account = session.get(Account, action.customer_account_id)
    assert account is not None
    party = session.get(Party, account.payer_party_id)
    html = letter_html(action, account, party.display_name if party else "", _fee(session, action))
    return bytes(HTML(string=html).write_pdf())


def _fee(session: Session, action: CollectionAction) -> int:
    if action.fee_item_id is None:
        return 0
    from billing.payments.models import ReceivableItem

    item = session.get(ReceivableItem, action.fee_item_id)
    return item.amount if item else 0


def _address(session: Session, account: Account, channel: str) -> str | None:
    if channel == "sms":
        return account.delivery_phone or session.scalar(
            select(PartyPhone.e164)
            .where(PartyPhone.party_id == account.payer_party_id)
            .order_by(PartyPhone.is_primary.desc(), PartyPhone.id)
            .limit(1)
        )
    return account.delivery_email or session.scalar(
        select(PartyEmail.email)
        .where(PartyEmail.party_id == account.payer_party_id)
        .order_by(PartyEmail.is_primary.desc(), PartyEmail.id)
        .limit(1)
    )


def send(session: Session, actor: Actor, action: CollectionAction) -> str:
    """Send one notice and record it on the customer's interactions; the action's
    ``notice_status`` becomes sent, failed, no_address or to_print (a letter)."""
    account = session.get(Account, action.customer_account_id)
    assert account is not None
    notice = render(action, account, _fee(session, action))
    if action.channel == "letter":
        action.notice_status = "to_print"
        channel = InteractionChannel.LETTER
    else:
        address = _address(session, account, action.channel)
        if not address:
            action.notice_status = "no_address"
            session.flush()
            return action.notice_status
        message = Message(
            channel=Channel(action.channel),
            to=(address,),
            body=notice.text,
            subject=notice.subject,
            language=notice.language,
        )
        row = notify.send(session, actor, message, reference=f"collection-action:{action.id}")
        action.notification_id = row.id
        action.notice_status = "sent" if row.status == Status.SENT.value else "failed"
        channel = InteractionChannel(action.channel)
    customers.log_interaction(
        session,
        actor=actor,
        data=InteractionCreate(
            party_id=account.payer_party_id,
            channel=channel,
            direction=InteractionDirection.OUTBOUND,
            subject=notice.subject[:200],
            notes=f"{notice.text}\n[{action.notice_status}, step {action.position}]",
        ),
    )
    session.flush()
    return action.notice_status


def send_pending(session: Session, actor: Actor, *, on: date | None = None) -> dict[str, int]:
    """Send every notice still pending (of ``on`` when given); counts per outcome."""
    query = select(CollectionAction).where(CollectionAction.notice_status == "pending")
    if on is not None:
        query = query.where(CollectionAction.done_on == on)
    counts: dict[str, int] = {}
    for action in session.scalars(query.order_by(CollectionAction.id)).all():
        status = send(session, actor, action)
        counts[status] = counts.get(status, 0) + 1
    return counts
