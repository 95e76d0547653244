"""Languages: gettext catalogues (``core/locales/<lang>/LC_MESSAGES/messages.po``, extracted with
pybabel from the Python code and the Jinja templates, see ``babel.cfg``) and the locale a
customer's documents are formatted in.

The ``.po`` files are the source of truth in the repository; they are compiled in memory
when first used (babel's own reader and ``.mo`` writer), so a fresh clone needs no build
step and a stale ``.mo`` can never hide a new translation. French is the source language
(msgids are French); a missing translation falls back to it.

    pybabel extract -F babel.cfg -o core/locales/messages.pot .
    pybabel update -i core/locales/messages.pot -d core/locales
"""

from __future__ import annotations

import io
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("fr", "en", "pt")
DEFAULT_LANGUAGE = "fr"


def language_of(value: str | None) -> str:
    """``pt_BR``, ``en-GB``, ``PT`` -> the supported language (French when unknown)."""
    language = (value or DEFAULT_LANGUAGE).replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


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
