"""Prepaid vend receipts: the token (in groups of four, as the customer keys it in), the
energy bought and every deduction (the month's fixed charges at its first purchase, the
energy per block, taxes) with what is left as credit. A PDF (A5) for the desk printer, a
narrow 80 mm PDF and 42-column text for thermal printers, like the payment receipts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from jinja2 import Environment, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments.models import Payment, PrepaidVend
from billing.payments.receipts import THERMAL_COLUMNS, UTILITY_NAME, ReceiptLayout
from core.money import format_money
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


def _label(line: dict[str, object]) -> str:
    kind, component = str(line.get("kind", "")), str(line.get("component", ""))
    return f"{kind} {component}".strip() if component and component != kind else kind


def vend_receipt(session: Session, sold: PrepaidVend) -> VendReceipt:
    number, account, payer = session.execute(
        select(Payment.number, Account.number, Party.display_name)
        .join(Account, Account.id == Payment.customer_account_id)
        .join(Party, Party.id == Account.payer_party_id)
        .where(Payment.id == sold.payment_id)
    ).one()

    def money(amount: object) -> str:
        return format_money(int(str(amount)), sold.currency)

    return VendReceipt(
        utility=UTILITY_NAME,
        number=number,
        meter=sold.meter_serial,
        account_number=account,
        payer=payer,
        vended_at=sold.vended_at.strftime("%Y-%m-%d %H:%M UTC"),
        token=" ".join(sold.token[i : i + 4] for i in range(0, len(sold.token), 4)),
        kwh=f"{Decimal(sold.kwh).normalize():f} kWh",  # 74.000 -> 74
        paid=money(sold.amount),
        deductions=[(_label(line), money(line["amount"])) for line in sold.lines],
        charged=money(sold.charged),
        credit=money(sold.amount - sold.charged),
        status=sold.status,
    )


_HTML = Environment(autoescape=select_autoescape(default=True)).from_string(
    """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: {{ page }}; margin: {{ margin }}; }
body { font-family: sans-serif; font-size: {{ font }}; }
h1 { font-size: 1.3em; margin: 0 0 .4em; }
.token { font-family: monospace; font-size: 1.5em; font-weight: bold; text-align: center;
         border: 1px solid #000; padding: 4px; }
.dup { border: 2px solid #b00; color: #b00; text-align: center; font-weight: bold; }
table { width: 100%; border-collapse: collapse; }
td { padding: 2px 0; vertical-align: top; } td.v { text-align: right; }
.total td { border-top: 1px solid #000; font-weight: bold; }
</style></head><body>
<h1>{{ r.utility }}</h1>
<p>Achat prépayé / Prepaid purchase <b>{{ r.number }}</b></p>
{% if r.status == 'reversed' %}<p class="dup">ANNULÉ / REVERSED</p>{% endif %}
<p class="token">{{ r.token }}</p>
<table>
<tr><td>Compteur / Meter</td><td class="v">{{ r.meter }}</td></tr>
<tr><td>Compte / Account</td><td class="v">{{ r.account_number }}</td></tr>
<tr><td>Client / Customer</td><td class="v">{{ r.payer }}</td></tr>
<tr><td>Date</td><td class="v">{{ r.vended_at }}</td></tr>
<tr><td>Payé / Paid</td><td class="v">{{ r.paid }}</td></tr>
{% for what, amount in r.deductions %}<tr><td>{{ what }}</td><td class="v">{{ amount }}</td></tr>{% endfor %}
<tr class="total"><td>Facturé / Charged</td><td class="v">{{ r.charged }}</td></tr>
<tr><td>Crédit / Credit</td><td class="v">{{ r.credit }}</td></tr>
<tr class="total"><td>Énergie / Energy</td><td class="v">{{ r.kwh }}</td></tr>
</table></body></html>"""
)


def html(data: VendReceipt, layout: ReceiptLayout) -> str:
    narrow = layout == ReceiptLayout.THERMAL
    return _HTML.render(
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

    lines = [data.utility.center(width), f"ACHAT {data.number}".center(width), "-" * width]
    if data.status == "reversed":
        lines.append("*** ANNULE ***".center(width))
    lines += [data.token.center(width), "-" * width]
    lines += [pair("Compteur", data.meter), pair("Compte", data.account_number)]
    lines += [pair("Date", data.vended_at), pair("Paye", data.paid)]
    lines += [pair(what, amount) for what, amount in data.deductions]
    lines += ["-" * width, pair("Facture", data.charged), pair("Credit", data.credit)]
    lines += [pair("ENERGIE", data.kwh), ""]
    return "\n".join(lines)


def render_receipt(session: Session, sold: PrepaidVend, layout: ReceiptLayout) -> tuple[bytes, str]:
    """(content, media type) of the vend's receipt in ``layout``."""
    data = vend_receipt(session, sold)
    if layout == ReceiptLayout.TEXT:
        return text(data).encode(), "text/plain; charset=utf-8"
    from weasyprint import HTML  # heavy: loaded when a PDF is asked for

    return HTML(string=html(data, layout)).write_pdf(), "application/pdf"
