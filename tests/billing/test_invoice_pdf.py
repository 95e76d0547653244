"""The printed invoice: a real PDF (WeasyPrint) read back with pypdf; its payment reference
(ISO 11649), its QR payload, the history chart, and print batches."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from decimal import Decimal

import pytest
from stdnum import iso11649

from billing.documents.batches import render_file
from billing.documents.chart import history_svg, nice_step
from billing.documents.document import HistoryPoint, Line
from billing.documents.qr import parse_kwpay, payment_payload
from billing.documents.reference import (
    PaymentReferenceInvalidError,
    invoice_reference,
    printed,
    reference_body,
    rf_reference,
    validate_reference,
)
from billing.documents.render import render_html, render_pdf
from tests.billing.invoice_documents import CUSTOMER, UTILITY, pdf_text, xof_invoice


def test_the_standard_example_reference_and_the_invoice_reference() -> None:
    # ISO 11649's own example: body 539007547034 -> check digits 18.
    assert rf_reference("539007547034") == "RF18539007547034"
    reference = invoice_reference("F2025-000123")
    assert iso11649.is_valid(reference)
    assert reference_body(printed(reference)) == "F2025000123"
    assert validate_reference("rf18 5390 0754 7034") == "RF18539007547034"


def test_a_mistyped_reference_is_refused() -> None:
    with pytest.raises(PaymentReferenceInvalidError):
        validate_reference("RF19539007547034")  # one check digit off
    with pytest.raises(PaymentReferenceInvalidError):
        rf_reference("X" * 22)  # 21 characters at most


def test_the_pdf_shows_the_parties_lines_totals_and_reference_formatted() -> None:
    document = xof_invoice()
    pages, content = pdf_text(render_pdf(document))
    assert pages == 1
    text = re.sub(r"[\u202f\u00a0]", " ", content)  # babel's narrow no-break spaces
    for expected in (
        "Société Béninoise d'Énergie Électrique",
        "Adjoa Houngbo",
        "Facture N° F2025-000123",
        "0000000018",
        "UP-000042",
        "SBE2400001",
        "1 févr. 2025 au 28 févr. 2025",  # [start, end): the last day printed
        "20 mars 2025",
        "Énergie 21-150 kWh",
        "130 kWh",
        "14 950 F CFA",
        "18 030 F CFA",  # net: 1 500 + 1 580 + 14 950
        "3 245 F CFA",  # VAT: 18 % of 18 030 = 3 245.4 -> 3 245
        "21 275 F CFA",  # total: 18 030 + 3 245
        "4 000 F CFA",  # owed before
        "25 275 F CFA",  # due: 21 275 + 4 000
        "10 250",
        "10 400",
    ):
        assert expected in text, expected
    # The reference printed in groups of four, and it validates.
    printed_reference = re.search(r"RF\d\d(?: [0-9A-Z]{1,4})+", text)
    assert printed_reference is not None
    assert iso11649.is_valid(printed_reference.group(0))
    assert iso11649.compact(printed_reference.group(0)) == invoice_reference("F2025-000123")
    assert "F CFA" in text and ",00 F CFA" not in text  # XOF has no decimals


def test_a_euro_invoice_in_english_has_cents_and_an_epc_qr_code() -> None:
    lines = (
        Line("energy", "Energy", 4567, Decimal("182.68"), "kWh", Decimal("0.25")),
        Line("tax", "VAT 20 %", 913, Decimal("45.67"), "", Decimal("0.20")),  # 913.4 -> 913
    )
    document = xof_invoice(
        currency="EUR",
        language="en",
        lines=lines,
        previous_balance=0,
        utility=replace(UTILITY, bank_account="BE71 0961 2345 6769", bic="GKCCBEBB"),
    )
    _pages, text = pdf_text(render_pdf(document, locale="en_GB"))
    assert "Invoice No. F2025-000123" in text
    assert "€45.67" in text and "€9.13" in text and "€54.80" in text  # 45.67 + 9.13
    payload = payment_payload(document).split("\n")
    assert payload[:8] == [
        "BCD",
        "002",
        "1",
        "SCT",
        "GKCCBEBB",
        "Société Béninoise d'Énergie Électrique",
        "BE71096123456769",
        "EUR54.80",
    ]
    assert iso11649.is_valid(payload[9])


def test_the_qr_code_carries_the_reference_and_the_amount_due() -> None:
    document = xof_invoice()
    payload = payment_payload(document)
    assert parse_kwpay(payload) == {
        "reference": invoice_reference("F2025-000123"),
        "amount": "25275",  # XOF: whole francs
        "currency": "XOF",
        "account": CUSTOMER.account_number,
    }
    html = render_html(document)
    assert 'src="data:image/svg+xml' in html  # the code itself, drawn by segno


def test_a_credit_balance_never_asks_for_a_negative_payment() -> None:
    document = xof_invoice(previous_balance=-30000)  # 21 275 - 30 000 < 0
    assert parse_kwpay(payment_payload(document))["amount"] == "0"


def test_the_history_chart_has_a_bar_per_period_and_marks_estimates() -> None:
    document = xof_invoice()
    svg = history_svg(document.history, locale="fr")
    bars = re.findall(r'<rect [^>]*class="(bar[^"]*)" data-kwh="([^"]+)"', svg)
    assert len(bars) == 13
    assert bars[-1] == ("bar current", "150")
    assert svg.count('fill="url(#est)"') == 1  # the estimated month, hatched
    assert "févr. 25" in svg
    # More than 13 periods: the last 13 are drawn.
    many = [HistoryPoint(f"2023-{m:02d}", Decimal(m)) for m in range(1, 13)] * 2
    assert len(re.findall(r'class="bar', history_svg(many))) == 13


@pytest.mark.parametrize(("top", "step"), [(0, 1), (4, 1), (150, 50), (430, 100), (999, 200)])
def test_the_chart_axis_has_nice_steps(top: float, step: float) -> None:
    assert nice_step(top) == step


def test_text_from_the_customer_cannot_break_the_page() -> None:
    hostile = replace(CUSTOMER, name='<script>alert(1)</script>"</style>')
    html = render_html(xof_invoice(customer=hostile))
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_a_print_batch_is_one_pdf_or_a_zip_of_pdfs() -> None:
    documents = [xof_invoice(number=f"F2025-{n:06d}") for n in (1, 2, 3)]
    seen: list[int] = []
    pages, text = pdf_text(render_file(documents, "pdf", progress=seen.append))
    assert pages == 3 and seen == [1, 2, 3]
    assert [n for n in ("F2025-000001", "F2025-000002", "F2025-000003") if n in text] == [
        "F2025-000001",
        "F2025-000002",
        "F2025-000003",
    ]
    archive = zipfile.ZipFile(io.BytesIO(render_file(documents, "zip")))
    assert archive.namelist() == ["F2025-000001.pdf", "F2025-000002.pdf", "F2025-000003.pdf"]
    assert pdf_text(archive.read("F2025-000002.pdf"))[0] == 1
