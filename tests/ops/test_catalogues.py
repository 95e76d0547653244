"""The catalogues keep up with the code: every msgid the code and the templates use (found
the way ``make i18n`` finds them: babel.cfg, the Makefile's packages and keywords) is in
the French, English and Portuguese catalogues, translated, with the same placeholders;
none is left there that nothing uses any more. A new ``_("...")`` fails here until
``make i18n`` has merged it and someone has translated it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from core.i18n import LANGUAGES, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _makefile_settings() -> tuple[list[str], list[str]]:
    """The packages and the extra keywords ``make i18n`` extracts with (one source)."""
    makefile = (ROOT / "Makefile").read_text()
    packages = re.search(r"^I18N_PACKAGES := (.+)$", makefile, re.M)
    assert packages, "the Makefile lost its I18N_PACKAGES line"
    keywords = re.findall(r"pybabel extract [^\n]*?-k (\w+)", makefile)
    return packages.group(1).split(), keywords


def _used_msgids() -> dict[str, str]:
    """msgid -> where it was first found."""
    packages, extra = _makefile_settings()
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, **{k: None for k in extra}}
    found: dict[str, str] = {}
    for package in packages:
        for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / package), method_map, options_map, keywords=keywords
        ):
            # A plural (ngettext) is known by its singular, as in the catalogue.
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{package}/{filename}")
    return found


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple) else message.id)


def _forms(value: object) -> list[str]:
    """A msgid or msgstr as its list of forms (one, or a plural's several)."""
    return [str(v) for v in value] if isinstance(value, (tuple, list)) else [str(value or "")]


def _catalogue(language: str) -> Catalog:
    with (Path(LOCALES_DIR) / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def used() -> dict[str, str]:
    return _used_msgids()


def test_extraction_sees_documents_pages_and_menus(used: dict[str, str]) -> None:
    # One msgid of each kind of source, so a broken babel.cfg cannot pass silently.
    assert used["Facture"].startswith("billing/")  # a constant marked with N_()
    assert used["Montant à payer"].endswith("invoice.html")  # the invoice template
    assert used["Reçu de paiement"].endswith("receipt.html")  # the receipt template
    assert used["Sign out"].endswith("base.html")  # the staff layout
    assert used["Cash desks"].startswith("api/")  # a menu entry (the NavItem keyword)
    assert used["Rappel d'impayé"].startswith("billing/")  # the dunning notice


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_in_use_is_translated(language: str, used: dict[str, str]) -> None:
    catalogue = _catalogue(language)
    have = {_key(m): m for m in catalogue if m.id}
    missing = sorted(f"{msgid!r} ({where})" for msgid, where in used.items() if msgid not in have)
    untranslated = sorted(repr(i) for i, m in have.items() if not all(_forms(m.string)) or m.fuzzy)
    unused = sorted(repr(i) for i in have if i not in used)
    advice = "run `make i18n`, then translate core/locales/*/LC_MESSAGES/messages.po"
    assert not missing, f"{language}: not in the catalogue ({advice}): " + ", ".join(missing)
    assert not untranslated, f"{language}: untranslated or fuzzy: " + ", ".join(untranslated)
    assert not unused, f"{language}: nothing uses these any more ({advice}): " + ", ".join(unused)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language: str) -> None:
    wrong = []
    for m in _catalogue(language):
        if not m.id:
            continue
        # Every form of the translation names the placeholders of the msgid's last form
        # (a plural's, which may add %(num)s to the singular).
        expected = set(PLACEHOLDER.findall(_forms(m.id)[-1]))
        if any(set(PLACEHOLDER.findall(form)) - expected for form in _forms(m.string)) or any(
            expected - set(PLACEHOLDER.findall(form)) - {"num"} for form in _forms(m.string)
        ):
            wrong.append(_key(m))
    assert not wrong, f"{language}: placeholders differ from the msgid in {wrong}"
