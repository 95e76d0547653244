"""The payment QR code of an invoice (segno): what a banking or mobile-money app scans to
pay the right amount with the right reference.

Two payloads:

- **EPC069-12** ("SEPA credit transfer" QR, version 002) when the invoice is in euros and
  the utility prints an IBAN: every European banking app reads it;
- otherwise a ``kwpay:`` URI, ``kwpay:<RF reference>?amount=<major units>&currency=<ISO
  4217>&account=<customer account>``: the payment reference and the amount, which the
  desk and mobile-money integrations read back with :func:`parse_kwpay`.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import segno

from billing.documents.document import InvoiceDocument
from core.money import to_major


def epc_payload(document: InvoiceDocument, amount: int) -> str:
    """The EPC069-12 payload (lines joined by LF; the RF reference as structured remittance)."""
    utility = document.utility
    return "\n".join(
        [
            "BCD",
            "002",
            "1",  # UTF-8
            "SCT",
            utility.bic,
            utility.name[:70],
            utility.bank_account.replace(" ", ""),
            f"EUR{to_major(amount, 'EUR'):.2f}",
            "",  # purpose
            document.reference,
            "",  # unstructured remittance (only one of the two)
        ]
    )


def kwpay_payload(document: InvoiceDocument, amount: int) -> str:
    query = urlencode(
        {
            "amount": str(to_major(amount, document.currency)),
            "currency": document.currency,
            "account": document.customer.account_number,
        }
    )
    return f"kwpay:{document.reference}?{query}"


def parse_kwpay(payload: str) -> dict[str, str]:
    """A ``kwpay:`` payload's reference, amount (major units, as text), currency, account."""
    parts = urlsplit(payload)
    if parts.scheme != "kwpay":
        raise ValueError("not a kwpay payload")
    fields = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return {"reference": parts.path, **fields}


def payment_payload(document: InvoiceDocument) -> str:
    """What the QR code carries for ``document``: the amount due (nothing below zero)."""
    amount = max(document.amount_due, 0)
    if document.currency == "EUR" and document.utility.bank_account:
        return epc_payload(document, amount)
    return kwpay_payload(document, amount)


def qr_svg_data_uri(payload: str) -> str:
    """The QR code of ``payload`` as an SVG data URI (error correction M)."""
    code = segno.make(payload, error="m", micro=False)
    return str(code.svg_data_uri(scale=4, border=2))
