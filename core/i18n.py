"""Languages: gettext catalogues (``core/locales/<lang>/LC_MESSAGES/messages.po``, extracted with
pybabel from the Python code and the Jinja templates, see ``babel.cfg`` and ``make i18n``)
and the language a page or a customer's document speaks.

The ``.po`` files are the source of truth in the repository; they are compiled in memory
when first used (babel's own reader and ``.mo`` writer), so a fresh clone needs no build
step and a stale ``.mo`` can never hide a new translation.

A msgid is the text as first written: French for the customer's documents (invoices,
notices, receipts, messages: the utilities we serve write them in French first), English
for the staff pages. Every catalogue, the source language's included, carries every msgid
with its translation, so ``tests/ops/test_catalogues.py`` can fail on one that was forgotten.

Code marks a word to translate later with ``N_("...")`` (a constant, a menu label) and
translates with the ``_`` of ``gettext_for(language)``; templates receive that ``_``.
Both take named placeholders: ``_("Compte %(number)s", number=n)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from core.settings import get_settings

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("fr", "en", "pt")
DEFAULT_LANGUAGE = "fr"


def N_(message: str) -> str:  # gettext's own name for "mark, translate later"
    """``message`` unchanged: marks it for extraction where it is defined, not shown."""
    return message


def language_of(value: str | None) -> str:
    """``pt_BR``, ``en-GB``, ``PT`` -> the supported language (French when unknown)."""
    language = (value or DEFAULT_LANGUAGE).replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def locale_for(language: str | None) -> str:
    """The babel locale that formats ``language``'s dates, numbers and money: the
    deployment's (``fr_BJ``) when it speaks that language, else the language itself."""
    configured = get_settings().locale
    lang = language_of(language)
    return configured if language_of(configured) == lang else lang


@lru_cache(maxsize=8)
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (gettext / ngettext), cached per process."""
    path = LOCALES_DIR / language_of(language) / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language_of(language))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)


def ngettext(language: str, singular: str, plural: str, n: int) -> str:
    return translations(language).ngettext(singular, plural, n)


@lru_cache(maxsize=8)
def gettext_for(language: str) -> Callable[..., str]:
    """``_(message, **placeholders)`` in ``language``: the translation, its named
    placeholders filled in (Jinja's "new style" gettext, usable from code too)."""
    catalogue = translations(language_of(language))

    def _(message: str, **placeholders: object) -> str:
        text = catalogue.gettext(message)
        return text % placeholders if placeholders else text

    return _


@lru_cache(maxsize=8)
def ngettext_for(language: str) -> Callable[..., str]:
    """``ngettext(singular, plural, n, **placeholders)`` in ``language``; ``%(num)s`` is n."""
    catalogue = translations(language_of(language))

    def ngettext_(singular: str, plural: str, n: int, **placeholders: object) -> str:
        return catalogue.ngettext(singular, plural, n) % {"num": n, **placeholders}

    return ngettext_
