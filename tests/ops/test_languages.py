"""Languages: a reminder notice and an invoice rendered in French, English and Portuguese;
amounts and dates formatted per locale; the catalogues complete and compiled from the
.po files in the repository; the customer's language chosen from the account."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from billing.documents.notice import Notice, notice_sms, render_notice
from billing.documents.render import render_html
from core.auth.service import create_user
from core.i18n import LANGUAGES, LOCALES_DIR, gettext, language_of
from tests.billing.invoice_documents import xof_invoice
from tests.conftest import TEST_PASSWORD

NOTICE = Notice(
    utility_name="SBEE",
    payer_name="Awa Koffi",
    account_number="100000012",
    amount_due=125050,  # XOF: no decimals
    currency="XOF",
    oldest_due_date=date(2026, 10, 15),
    pay_by=date(2026, 12, 20),
)

# The deployment's locale is fr_BJ: French uses it; English and Portuguese their own.
# Babel's CLDR: a narrow no-break space groups thousands in French, "," in English,
# "." in Portuguese; XOF prints as "F CFA", after the amount in French only. Spaces are
# compared as plain spaces (CLDR's no-break kinds vary between its releases).
EXPECTED = {
    "fr": (
        "Rappel de paiement",
        "la somme de 125\u202f050\u00a0F\u202fCFA reste impayée depuis le 15 octobre 2026",
        "SBEE : votre compte 100000012 présente un impayé de 125\u202f050\u00a0F\u202fCFA."
        " Merci de régler avant le 20/12/2026.",
    ),
    "en": (
        "Payment reminder",
        "the sum of F\u00a0CFA125,050 has been unpaid since October 15, 2026",
        "SBEE: your account 100000012 has F\u00a0CFA125,050 overdue. Please pay before 12/20/26.",
    ),
    "pt": (
        "Aviso de pagamento",
        "o montante de F\u202fCFA\u00a0125.050 está por pagar desde 15 de outubro de 2026",
        "SBEE: a sua conta 100000012 tem F\u202fCFA\u00a0125.050 em atraso."
        " Por favor, pague antes de 20/12/2026.",
    ),
}


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", html)


@pytest.mark.parametrize("language", LANGUAGES)
def test_notice_in_each_language(language: str) -> None:
    notice = Notice(**{**NOTICE.__dict__, "language": language})
    title, sentence, sms = EXPECTED[language]
    html = render_notice(notice)
    assert f'<html lang="{language}">' in html
    assert f"<h1>{title}</h1>" in html
    assert sentence.replace("\u202f", " ").replace("\u00a0", " ") in _plain(
        html.replace("\u202f", " ").replace("\u00a0", " ")
    )
    assert notice_sms(notice).replace("\u202f", " ").replace("\u00a0", " ") == sms.replace(
        "\u202f", " "
    ).replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ("Facture", "Montant à payer", "25 275")),
        ("en", ("Invoice", "Amount due", "25,275")),
        ("pt", ("Fatura", "Valor a pagar", "25.275")),
    ],
)
def test_invoice_in_each_language(language: str, words: tuple[str, ...]) -> None:
    # 21 275 this month + 4 000 owed before = 25 275 XOF due (tests/billing/invoice_documents)
    html = render_html(xof_invoice(language=language)).replace("\u202f", " ").replace("\u00a0", " ")
    for word in words:
        assert word in html, (language, word)


def test_catalogues_are_complete_and_languages_resolve() -> None:
    ids = None
    for language in LANGUAGES:
        path = Path(LOCALES_DIR) / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as po:
            catalog = read_po(po)
        messages = {m.id: m.string for m in catalog if m.id}
        assert all(messages.values()), f"{language}: untranslated messages"
        ids = ids or set(messages)
        assert set(messages) == ids, f"{language}: not the same messages as the others"
    assert gettext("pt_BR", "Compte") == "Conta"
    assert gettext("en-GB", "Compte") == "Account"
    assert (language_of("PT"), language_of("de"), language_of(None)) == ("pt", "fr", "fr")


def test_interface_follows_the_browser_language(client: TestClient, db: Session) -> None:
    create_user(db, username="lang-manager", password=TEST_PASSWORD, roles=["manager"])
    db.commit()
    client.post("/login", data={"username": "lang-manager", "password": TEST_PASSWORD})
    for header, word in (
        ("pt-BR,pt;q=0.9", "Relatórios"),
        ("fr", "Rapports"),
        ("en-GB", "Reports"),
    ):
        page = client.get("/reports", headers={"Accept-Language": header})
        assert page.status_code == 200
        assert f">{word}</a>" in page.text, header
    client.cookies.set("kw_lang", "pt")
    assert ">Processos</a>" in client.get("/ops/processes").text
