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
from billing.documents.labels import labels_for
from billing.documents.reference import printed
from billing.documents.render import locale_of, render_pdf
from billing.invoices import repository
from billing.invoices.models import Invoice
from core.context import Actor
from core.errors import InputInvalidError
from core.money import format_money
from core.notify import service as notify
from core.notify.message import Attachment, Channel, Message
from core.notify.models import Notification
from customers.enums import DeliveryChannel
from customers.models import Account

SUBJECTS = {
    "fr": "{kind} {number} — {amount} à payer avant le {due}",
    "en": "{kind} {number} — {amount} due by {due}",
    "pt": "{kind} {number} — {amount} a pagar até {due}",
}
BODIES = {
    "fr": "Bonjour {name},\n\nVotre {kind_lower} {number} pour la période du {start} au {end} "
    "est jointe.\nMontant à payer : {amount}, avant le {due}.\nRéférence de paiement : {ref}\n\n"
    "{utility}",
    "en": "Hello {name},\n\nYour {kind_lower} {number} for {start} to {end} is attached.\n"
    "Amount due: {amount}, by {due}.\nPayment reference: {ref}\n\n{utility}",
    "pt": "Olá {name},\n\nSegue a sua {kind_lower} {number} do período de {start} a {end}.\n"
    "Valor a pagar: {amount}, até {due}.\nReferência de pagamento: {ref}\n\n{utility}",
}
SMS = {
    "fr": "{utility}: {kind} {number} {amount} a payer avant le {due}. Ref {ref}",
    "en": "{utility}: {kind} {number} {amount} due by {due}. Ref {ref}",
    "pt": "{utility}: {kind} {number} {amount} a pagar ate {due}. Ref {ref}",
}


class InvoiceDeliveryUnavailableError(InputInvalidError):
    """The account asks for e-mail or SMS but holds no address or number for it."""

    code = "invoice_delivery_unavailable"


def _words(document: InvoiceDocument) -> dict[str, str]:
    locale = locale_of(document)
    t = labels_for(document.language)
    kind = t[document.kind]
    return {
        "kind": kind,
        "kind_lower": kind.lower(),
        "number": document.number,
        "amount": format_money(max(document.amount_due, 0), document.currency, locale),
        "due": document.due_date.isoformat(),
        "start": document.period_start.isoformat(),
        "end": document.period_last_day.isoformat(),
        "ref": printed(document.reference),
        "name": document.customer.name,
        "utility": document.utility.name,
    }


def _language(document: InvoiceDocument) -> str:
    language = document.language.split("_")[0]
    return language if language in SUBJECTS else "fr"


def message_for(document: InvoiceDocument, channel: Channel, to: str) -> Message:
    """The e-mail (PDF attached) or the SMS telling ``to`` about ``document``."""
    words, language = _words(document), _language(document)
    if channel is Channel.SMS:
        return Message(channel, (to,), SMS[language].format(**words), language=document.language)
    return Message(
        channel,
        (to,),
        BODIES[language].format(**words),
        subject=SUBJECTS[language].format(**words),
        attachments=(
            Attachment(f"{document.number}.pdf", render_pdf(document), "application/pdf"),
        ),
        language=document.language,
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
