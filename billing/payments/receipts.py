"""Payment receipts: a PDF (A5) for the desk printer, a narrow 80 mm PDF and a 42-column
text layout for thermal printers. The first print is the original; every later one says
DUPLICATE (the count is kept on the payment, so a duplicate is never passed off as the
original). Printed in the account's language (gettext catalogues, core.i18n); the amount
and the time in its locale, the time in the utility's time zone. The plain-text layout is
folded to ASCII: thermal printers' code pages do not all carry accents."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments.enums import Instrument
from billing.payments.models import Payment
from core.formats import Formats
from core.i18n import N_, gettext_for
from customers.models import Account, Party

UTILITY_NAME = "Kilowatch"  # printed at the head of every receipt
THERMAL_COLUMNS = 42  # characters per line of an 80 mm printer's font A
# How the customer paid, in words (the catalogues' source language; translated when printed).
INSTRUMENTS = {
    Instrument.CASH.value: N_("espèces"),
    Instrument.CHEQUE.value: N_("chèque"),
    Instrument.CARD.value: N_("carte"),
    Instrument.TRANSFER.value: N_("virement"),
    Instrument.MOBILE_MONEY.value: N_("mobile money"),
    Instrument.DIRECT_DEBIT.value: N_("prélèvement"),
}


def ascii_fold(text: str) -> str:
    """``text`` without accents and with plain spaces: what any ESC/POS code page prints."""
    plain = unicodedata.normalize("NFKD", text.replace("\u202f", " ").replace("\u00a0", " "))
    return plain.encode("ascii", "ignore").decode()


class ReceiptLayout(StrEnum):
    A5 = "a5"
    THERMAL = "thermal"  # 80 mm PDF
    TEXT = "text"  # 42 columns, for ESC/POS printers printing plain text


@dataclass(frozen=True)
class ReceiptData:
    number: str
    duplicate: bool
    prints: int
    account_number: str
    payer: str
    amount: str
    channel: str
    instrument: str
    received_at: str
    status: str
    reference: str | None
    utility: str
    language: str = "fr"  # the account's: the receipt's words


# The printed layouts (billing/payments/templates), shared with the prepaid vend receipts.
PRINT_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
)

_HTML = PRINT_TEMPLATES.get_template("receipt.html")


def receipt_data(session: Session, payment: Payment, *, duplicate: bool) -> ReceiptData:
    row = session.execute(
        select(Account.number, Party.display_name, Account.language)
        .join(Party, Party.id == Account.payer_party_id)
        .where(Account.id == payment.customer_account_id)
    ).one()
    formats, _ = Formats.of(row[2]), gettext_for(row[2])
    return ReceiptData(
        number=payment.number,
        duplicate=duplicate,
        prints=payment.receipt_prints - 1,  # this duplicate's number (the original is 0)
        account_number=row[0],
        payer=payment.payer_name or row[1],
        amount=formats.money(payment.amount, payment.currency),
        channel=payment.channel,
        instrument=_(INSTRUMENTS.get(payment.instrument, payment.instrument)),
        received_at=formats.datetime(payment.received_at),
        status=payment.status,
        reference=payment.reference,
        utility=UTILITY_NAME,
        language=row[2],
    )


def html(data: ReceiptData, layout: ReceiptLayout) -> str:
    narrow = layout == ReceiptLayout.THERMAL
    return _HTML.render(
        _=gettext_for(data.language),
        r=data,
        page="80mm 120mm" if narrow else "A5",
        margin="3mm" if narrow else "12mm",
        font="9pt" if narrow else "11pt",
    )


def text(data: ReceiptData) -> str:
    """The receipt in ``THERMAL_COLUMNS`` columns of plain text."""
    width = THERMAL_COLUMNS

    def pair(label: str, value: str) -> str:
        room = width - len(label) - 1
        return f"{label} {value[-room:]:>{room}}"

    _ = gettext_for(data.language)
    lines = [data.utility.center(width), _("Reçu %(number)s", number=data.number).center(width)]
    lines.append("-" * width)
    if data.duplicate:
        duplicate = _("DUPLICATA (%(count)s)", count=data.prints)
        lines.append(f"*** {duplicate} ***".center(width))
    if data.status == "reversed":
        cancelled = _("ANNULÉ")
        lines.append(f"*** {cancelled} ***".center(width))
    lines += [
        pair(_("Compte"), data.account_number),
        pair(_("Payeur"), data.payer),
        pair(_("Date"), data.received_at),
        pair(_("Moyen de paiement"), data.instrument),
    ]
    if data.reference:
        lines.append(pair(_("Référence"), data.reference))
    lines += ["-" * width, pair(_("Montant").upper(), data.amount), ""]
    return ascii_fold("\n".join(lines))


def print_receipt(session: Session, payment: Payment, layout: ReceiptLayout) -> tuple[bytes, str]:
    """Render the receipt and count the print: (content, media type)."""
    duplicate = payment.receipt_prints > 0
    payment.receipt_prints += 1
    session.flush()
    data = receipt_data(session, payment, duplicate=duplicate)
    if layout == ReceiptLayout.TEXT:
        return text(data).encode(), "text/plain; charset=utf-8"
    from weasyprint import HTML  # heavy: loaded when a PDF is asked for

    return HTML(string=html(data, layout)).write_pdf(), "application/pdf"
