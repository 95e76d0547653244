"""Dates, numbers and money written the way a language reads them (babel's CLDR data):
``Formats.of("fr")`` writes 1 234 567 F CFA and 15 octobre 2026, ``Formats.of("en")``
F CFA1,234,567 and October 15, 2026. Every customer document and page formats through it,
so one locale rule decides a document's look (``core.i18n.locale_for``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from core.i18n import language_of, locale_for
from core.money import format_money, minor_exponent
from core.settings import get_settings


@dataclass(frozen=True)
class Formats:
    """The writing rules of one language in this deployment (its babel locale)."""

    language: str
    locale: str

    @staticmethod
    @lru_cache(maxsize=8)
    def of(language: str | None) -> Formats:
        lang = language_of(language)
        return Formats(lang, locale_for(lang))

    def money(self, minor: int, currency: str | None = None) -> str:
        """Minor units with the currency's own decimals (none for XOF) and symbol."""
        return format_money(minor, currency or get_settings().currency, self.locale)

    def amount(self, minor: int, currency: str | None = None) -> str:
        """Minor units as a number with the currency's decimals, without its symbol."""
        currency = currency or get_settings().currency
        decimals = minor_exponent(currency)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        value = Decimal(minor).scaleb(-decimals)
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def number(self, value: Decimal | int | float) -> str:
        """A quantity as written (no rounding beyond its own digits)."""
        return str(format_decimal(value, locale=self.locale, decimal_quantization=False))

    def percent(self, value: Decimal | float) -> str:
        return str(format_percent(value, format="#,##0.##%", locale=self.locale))

    def date(self, value: date | None, length: str = "medium") -> str:
        """A business date: ``short`` 20/12/2026, ``medium`` 20 déc. 2026, ``long``
        20 décembre 2026 (English and Portuguese their own order)."""
        return "" if value is None else str(format_date(value, length, locale=self.locale))

    def datetime(self, value: datetime | None, length: str = "short") -> str:
        """A timestamp in the utility's time zone (timestamps are stored in UTC)."""
        if value is None:
            return ""
        zone = ZoneInfo(get_settings().timezone)
        return str(format_datetime(value, length, tzinfo=zone, locale=self.locale))
