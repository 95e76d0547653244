"""Prepaid vend receipts: the token (in groups of four, as the customer keys it in), the
energy bought and every deduction (the month's fixed charges at its first purchase, the
energy per block, taxes) with what is left as credit. A PDF (A5) for the desk printer, a
narrow 80 mm PDF and 42-column text for thermal printers, like the payment receipts, and
like them in the account's language (the deductions keep the tariff's own component names)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments.models import Payment, PrepaidVend
from billing.payments.receipts import (
    PRINT_TEMPLATES,
    THERMAL_COLUMNS,
    UTILITY_NAME,
    ReceiptLayout,
    ascii_fold,
)
from core.formats import Formats
from core.i18n import gettext_for
from customers.models import Account, Party


@dataclass(frozen=True)
class VendReceipt:
    utility: str
    number: str  # the payment's receipt number
    meter: str
    account_number: str
    payer: str
    vended_at: str
    token: str  # grouped by four
    kwh: str
    paid: str
    deductions: list[tuple[str, str]]  # (what, amount)
    charged: str
    credit: str
    status: str
    language: str = "fr"  # the account's: the receipt's words


def _label(line: dict[str, object]) -> str:
    kind, component = str(line.get("kind", "")), str(line.get("component", ""))
    return f"{kind} {component}".strip() if component and component != kind else kind


def vend_receipt(session: Session, sold: PrepaidVend) -> VendReceipt:
    number, account, payer, language = session.execute(
        select(Payment.number, Account.number, Party.display_name, Account.language)
        .join(Account, Account.id == Payment.customer_account_id)
        .join(Party, Party.id == Account.payer_party_id)
        .where(Payment.id == sold.payment_id)
    ).one()

    formats = Formats.of(language)

    def money(amount: object) -> str:
        return formats.money(int(str(amount)), sold.currency)

    return VendReceipt(
        utility=UTILITY_NAME,
        number=number,
        meter=sold.meter_serial,
        account_number=account,
        payer=payer,
        vended_at=formats.datetime(sold.vended_at),
        token=" ".join(sold.token[i : i + 4] for i in range(0, len(sold.token), 4)),
        kwh=f"{formats.number(Decimal(sold.kwh).normalize())} kWh",  # 74.000 -> 74
        paid=money(sold.amount),
        deductions=[(_label(line), money(line["amount"])) for line in sold.lines],
        charged=money(sold.charged),
        credit=money(sold.amount - sold.charged),
        status=sold.status,
        language=language,
    )


_HTML = PRINT_TEMPLATES.get_template("vend_receipt.html")


def html(data: VendReceipt, layout: ReceiptLayout) -> str:
    narrow = layout == ReceiptLayout.THERMAL
    return _HTML.render(
        _=gettext_for(data.language),
        r=data,
        page="80mm 160mm" if narrow else "A5",
        margin="3mm" if narrow else "12mm",
        font="9pt" if narrow else "11pt",
    )


def text(data: VendReceipt) -> str:
    """The receipt in ``THERMAL_COLUMNS`` columns of plain text."""
    width = THERMAL_COLUMNS

    def pair(label: str, value: str) -> str:
        room = width - len(label[: width // 2]) - 1
        return f"{label[: width // 2]} {value[-room:]:>{room}}"

    _ = gettext_for(data.language)
    title = _("Achat %(number)s", number=data.number)
    lines = [data.utility.center(width), title.center(width), "-" * width]
    if data.status == "reversed":
        cancelled = _("ANNULÉ")
        lines.append(f"*** {cancelled} ***".center(width))
    lines += [data.token.center(width), "-" * width]
    lines += [pair(_("Compteur"), data.meter), pair(_("Compte"), data.account_number)]
    lines += [pair(_("Date"), data.vended_at), pair(_("Payé"), data.paid)]
    lines += [pair(what, amount) for what, amount in data.deductions]
    lines += ["-" * width, pair(_("Facturé"), data.charged), pair(_("Crédit"), data.credit)]
    lines += [pair(_("Énergie").upper(), data.kwh), ""]
    return ascii_fold("\n".join(lines))


def render_receipt(session: Session, sold: PrepaidVend, layout: ReceiptLayout) -> tuple[bytes, str]:
    """(content, media type) of the vend's receipt in ``layout``."""
    data = vend_receipt(session, sold)
    if layout == ReceiptLayout.TEXT:
        return text(data).encode(), "text/plain; charset=utf-8"
    from weasyprint import HTML  # heavy: loaded when a PDF is asked for

    return HTML(string=html(data, layout)).write_pdf(), "application/pdf"
