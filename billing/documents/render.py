"""The invoice (or credit note) as HTML and as PDF (WeasyPrint), one or many, in the
customer's language: its words through the gettext catalogues (``core.i18n``).

Numbers, amounts and dates are formatted with babel in the document's locale: amounts
through ``core.money.format_money`` (the currency's own decimals: none for XOF), unit
prices with up to four decimals, tax rates as percentages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from billing.documents.chart import history_svg
from billing.documents.document import InvoiceDocument
from billing.documents.qr import payment_payload, qr_svg_data_uri
from billing.documents.reference import printed
from core.i18n import N_, gettext_for, locale_for
from core.money import format_money, minor_exponent

TEMPLATES = Path(__file__).parent / "templates"
# What a document is called, in the catalogues' source language (translated when printed).
KINDS = {"invoice": N_("Facture"), "credit_note": N_("Avoir")}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def locale_of(document: InvoiceDocument) -> str:
    """The formatting locale: the deployment's (``fr_BJ``) when it speaks the document's
    language, else the language itself."""
    return locale_for(document.language)


def render_html(document: InvoiceDocument, *, locale: str | None = None) -> str:
    """The invoice as one self-contained HTML page (the chart inline, the QR a data URI)."""
    loc = locale or locale_of(document)
    currency = document.currency

    def money(minor: int) -> str:
        return format_money(minor, currency, loc)

    decimals = minor_exponent(currency)
    fixed = "#,##0" + ("." + "0" * decimals if decimals else "")

    def money_major(major: Decimal) -> str:
        """A tax base (major units) with the currency's decimals, without its symbol."""
        return str(format_decimal(major, format=fixed, locale=loc))

    def number(value: Decimal) -> str:
        return str(format_decimal(value, locale=loc, decimal_quantization=False))

    def price(value: Decimal) -> str:
        """A unit price: the currency's decimals at least, four at most."""
        pattern = "#,##0." + "0" * decimals + "#" * (4 - min(decimals, 4))
        return str(format_decimal(value, format=pattern, locale=loc))

    def percent(value: Decimal) -> str:
        return str(format_percent(value, format="#,##0.##%", locale=loc))

    def css(text: str) -> Markup:
        """``text`` as the inside of a CSS string (the page footer)."""
        # Escaped for a CSS string, and "<" so no "</style>" can close the block early.
        return Markup(text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C "))  # noqa: S704

    def day(value: date) -> str:
        return str(format_date(value, "medium", locale=loc))

    return (
        _environment()
        .get_template("invoice.html")
        .render(
            doc=document,
            _=gettext_for(document.language),
            KINDS=KINDS,
            money=money,
            money_major=money_major,
            number=number,
            price=price,
            percent=percent,
            date=day,
            css=css,
            chart=history_svg(document.history, locale=loc),
            reference=printed(document.reference),
            qr=qr_svg_data_uri(payment_payload(document)),
        )
    )


@lru_cache(maxsize=1)
def _fonts() -> Any:
    """One font configuration for the process: building it per document costs about a
    quarter of a PDF's time."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(document: InvoiceDocument, *, locale: str | None = None) -> bytes:
    """The invoice as a PDF (A4)."""
    from weasyprint import HTML  # heavy import (Pango): only where a PDF is made

    html = HTML(string=render_html(document, locale=locale))
    return bytes(html.write_pdf(font_config=_fonts()))


def render_many(
    documents: Iterable[InvoiceDocument],
    *,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Many invoices in one PDF, each starting on its own page (a print shop's file).
    ``progress(done)`` after each invoice is laid out."""
    from weasyprint import HTML

    rendered = []
    for done, document in enumerate(documents, start=1):
        rendered.append(HTML(string=render_html(document)).render(font_config=_fonts()))
        if progress is not None:
            progress(done)
    if not rendered:
        raise ValueError("a print batch needs at least one invoice")
    pages = [page for item in rendered for page in item.pages]
    return bytes(rendered[0].copy(pages).write_pdf())
