"""Delivering an issued invoice the way its account asks (``Account.delivery_channel``):
by e-mail with the PDF attached, by SMS with the amount, due date and payment reference,
or on paper (a print batch: nothing is sent here). Every send goes through
``core.notify`` and is logged with its outcome under ``invoice:<id>``.

Send after the invoice's issue committed (a task, or a request of its own): a message
leaves when the gateway is called, whatever becomes of the transaction.
"""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from billing.documents.document import InvoiceDocument
from billing.documents.from_invoice import invoice_document
from billing.documents.reference import printed
from billing.documents.render import KINDS, render_pdf
from billing.invoices import repository
from billing.invoices.models import Invoice
from core.context import Actor
from core.errors import InputInvalidError
from core.formats import Formats
from core.i18n import N_, gettext_for, language_of
from core.notify import service as notify
from core.notify.message import Attachment, Channel, Message
from core.notify.models import Notification
from customers.enums import DeliveryChannel
from customers.models import Account

# The message texts, in the catalogues' source language (French), translated per account.
SUBJECT = N_("%(kind)s %(number)s — %(amount)s à payer avant le %(due)s")
BODY = N_(
    "Bonjour %(name)s,\n\nVotre %(kind_lower)s %(number)s pour la période du %(start)s au %(end)s"
    " est jointe.\nMontant à payer : %(amount)s, avant le %(due)s.\n"
    "Référence de paiement : %(ref)s\n\n%(utility)s"
)
SMS = N_("%(utility)s : %(kind)s %(number)s, %(amount)s à payer avant le %(due)s. Réf. %(ref)s")


class InvoiceDeliveryUnavailableError(InputInvalidError):
    """The account asks for e-mail or SMS but holds no address or number for it."""

    code = "invoice_delivery_unavailable"


def _words(document: InvoiceDocument, dates: str) -> dict[str, str]:
    """The placeholders of the texts; ``dates`` the babel length of the dates (``short`` in
    an SMS, ``medium`` in an e-mail: "20 mars 2025" is clearer than "3/20/25")."""
    formats = Formats.of(document.language)
    kind = gettext_for(document.language)(KINDS[document.kind])
    return {
        "kind": kind,
        "kind_lower": kind.lower(),
        "number": document.number,
        "amount": formats.money(max(document.amount_due, 0), document.currency),
        "due": formats.date(document.due_date, dates),
        "start": formats.date(document.period_start, dates),
        "end": formats.date(document.period_last_day, dates),
        "ref": printed(document.reference),
        "name": document.customer.name,
        "utility": document.utility.name,
    }


def message_for(document: InvoiceDocument, channel: Channel, to: str) -> Message:
    """The e-mail (PDF attached) or the SMS telling ``to`` about ``document``, in the
    document's (the account's) language."""
    _, language = gettext_for(document.language), language_of(document.language)
    if channel is Channel.SMS:
        return Message(channel, (to,), _(SMS, **_words(document, "short")), language=language)
    words = _words(document, "medium")
    return Message(
        channel,
        (to,),
        _(BODY, **words),
        subject=_(SUBJECT, **words),
        attachments=(
            Attachment(f"{document.number}.pdf", render_pdf(document), "application/pdf"),
        ),
        language=language,
    )


def deliver_invoice(
    session: Session, actor: Actor, invoice_id: int, *, again: bool = False
) -> list[Notification]:
    """Send invoice ``invoice_id`` as its account asks; the sends recorded (none on paper).
    An invoice already sent is not sent twice (a redelivered task) unless ``again``."""
    invoice = repository.get_invoice(session, actor, invoice_id)
    if not again and any(n.status == "sent" for n in deliveries(session, invoice_id)):
        return []
    account = session.get(Account, invoice.account_id)
    assert account is not None
    if account.delivery_channel == DeliveryChannel.PAPER.value:
        return []
    channel = Channel(account.delivery_channel)
    to = account.delivery_email if channel is Channel.EMAIL else account.delivery_phone
    if not to:
        raise InvoiceDeliveryUnavailableError(
            f"account {account.number} asks for {channel.value} but has no "
            f"{'e-mail address' if channel is Channel.EMAIL else 'phone number'}"
        )
    document = invoice_document(session, actor, invoice_id)
    return [
        notify.send(
            session, actor, message_for(document, channel, to), reference=f"invoice:{invoice_id}"
        )
    ]


def deliveries(session: Session, invoice_id: int) -> list[Notification]:
    """Every send recorded about invoice ``invoice_id``."""
    return notify.deliveries(session, f"invoice:{invoice_id}")


def pending_deliveries(session: Session, limit: int = 1000) -> list[int]:
    """Issued invoices of e-mail and SMS accounts never handed to a gateway yet (however
    they were issued: the billing-run screen, the API, the CLI, a final bill), oldest
    first: what ``billing.deliver_pending_invoices`` sends."""
    return list(
        session.scalars(
            select(Invoice.id)
            .join(Account, Account.id == Invoice.account_id)
            .where(
                Invoice.status == "issued",
                Account.delivery_channel.in_(
                    [DeliveryChannel.EMAIL.value, DeliveryChannel.SMS.value]
                ),
                ~exists().where(Notification.reference == func.concat("invoice:", Invoice.id)),
            )
            .order_by(Invoice.id)
            .limit(limit)
        )
    )
