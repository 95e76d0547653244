"""A payment reminder notice (the dunning letter and its SMS) in the customer's language,
translated through the gettext catalogues (core.i18n) and formatted per locale: amounts
with the currency's decimals, dates in the language's long form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.i18n import language_of, translations
from core.money import format_money
from core.settings import get_settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Notice:
    """What a reminder says: who, which account, how much is overdue since when."""

    utility_name: str
    payer_name: str
    account_number: str
    amount_due: int  # minor units
    currency: str
    oldest_due_date: date
    pay_by: date
    language: str = "fr"  # the account's (or the payer's) language


def locale_for(language: str) -> str:
    """The deployment's locale (``fr_BJ``) when it speaks the language, else the language."""
    configured = get_settings().locale
    lang = language_of(language)
    return configured if configured.split("_")[0] == lang else lang


def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_notice(notice: Notice) -> str:
    """The reminder letter as HTML in ``notice.language``."""
    language = language_of(notice.language)
    locale = locale_for(language)
    return (
        _environment(language)
        .get_template("notice.html")
        .render(
            notice=notice,
            lang=language,
            amount=format_money(notice.amount_due, notice.currency, locale),
            since=format_date(notice.oldest_due_date, "long", locale=locale),
            pay_by=format_date(notice.pay_by, "long", locale=locale),
        )
    )


def notice_sms(notice: Notice) -> str:
    """The reminder as one SMS in ``notice.language``."""
    language = language_of(notice.language)
    locale = locale_for(language)
    text = translations(language).gettext(
        "%(utility)s : votre compte %(account)s présente un impayé de %(amount)s."
        " Merci de régler avant le %(date)s."
    )
    return text % {
        "utility": notice.utility_name,
        "account": notice.account_number,
        "amount": format_money(notice.amount_due, notice.currency, locale),
        "date": format_date(notice.pay_by, "short", locale=locale),
    }
