"""Payment receipts: a PDF (A5) for the desk printer, a narrow 80 mm PDF and a 42-column
text layout for thermal printers. The first print is the original; every later one says
DUPLICATE (the count is kept on the payment, so a duplicate is never passed off as the
original)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jinja2 import Environment, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments.models import Payment
from core.money import format_money
from customers.models import Account, Party

UTILITY_NAME = "Kilowatch"  # printed at the head of every receipt
THERMAL_COLUMNS = 42  # characters per line of an 80 mm printer's font A


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


_ENV = Environment(autoescape=select_autoescape(default=True))

_HTML = _ENV.from_string(
    """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: {{ page }}; margin: {{ margin }}; }
body { font-family: sans-serif; font-size: {{ font }}; }
h1 { font-size: 1.3em; margin: 0 0 .4em; }
.dup { border: 2px solid #b00; color: #b00; text-align: center; font-weight: bold; }
table { width: 100%; border-collapse: collapse; }
td { padding: 2px 0; vertical-align: top; } td.v { text-align: right; }
.amount { font-size: 1.4em; font-weight: bold; }
</style></head><body>
<h1>{{ r.utility }}</h1>
<p>Reçu de paiement / Payment receipt <b>{{ r.number }}</b></p>
{% if r.duplicate %}<p class="dup">DUPLICATA / DUPLICATE ({{ r.prints }})</p>{% endif %}
{% if r.status == 'reversed' %}<p class="dup">ANNULÉ / CANCELLED</p>{% endif %}
<table>
<tr><td>Compte / Account</td><td class="v">{{ r.account_number }}</td></tr>
<tr><td>Payeur / Payer</td><td class="v">{{ r.payer }}</td></tr>
<tr><td>Date</td><td class="v">{{ r.received_at }}</td></tr>
<tr><td>Moyen / Means</td><td class="v">{{ r.instrument }} ({{ r.channel }})</td></tr>
{% if r.reference %}<tr><td>Référence</td><td class="v">{{ r.reference }}</td></tr>{% endif %}
<tr><td>Montant / Amount</td><td class="v amount">{{ r.amount }}</td></tr>
</table></body></html>"""
)


def receipt_data(session: Session, payment: Payment, *, duplicate: bool) -> ReceiptData:
    row = session.execute(
        select(Account.number, Party.display_name)
        .join(Party, Party.id == Account.payer_party_id)
        .where(Account.id == payment.customer_account_id)
    ).one()
    return ReceiptData(
        number=payment.number,
        duplicate=duplicate,
        prints=payment.receipt_prints - 1,  # this duplicate's number (the original is 0)
        account_number=row[0],
        payer=payment.payer_name or row[1],
        amount=format_money(payment.amount, payment.currency),
        channel=payment.channel,
        instrument=payment.instrument,
        received_at=payment.received_at.strftime("%Y-%m-%d %H:%M UTC"),
        status=payment.status,
        reference=payment.reference,
        utility=UTILITY_NAME,
    )


def html(data: ReceiptData, layout: ReceiptLayout) -> str:
    narrow = layout == ReceiptLayout.THERMAL
    return _HTML.render(
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

    lines = [data.utility.center(width), f"RECU {data.number}".center(width), "-" * width]
    if data.duplicate:
        lines.append(f"*** DUPLICATA ({data.prints}) ***".center(width))
    if data.status == "reversed":
        lines.append("*** ANNULE ***".center(width))
    lines += [
        pair("Compte", data.account_number),
        pair("Payeur", data.payer),
        pair("Date", data.received_at),
        pair("Moyen", data.instrument),
    ]
    if data.reference:
        lines.append(pair("Ref.", data.reference))
    lines += ["-" * width, pair("MONTANT", data.amount), ""]
    return "\n".join(lines)


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
