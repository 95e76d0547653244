"""Languages: the invoice, the dunning notice (text and letter), the invoice's e-mail and SMS
and the receipts rendered in French, English and Portuguese with their exact words, dates
and amounts (babel's CLDR: XOF has no decimals; French groups thousands with a narrow
no-break space and writes "F CFA" after the amount, English "F CFA" before it with commas,
Portuguese before it with dots); the customer's language chosen from their account; the
staff pages in the browser's, the chosen or the user's language."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from billing.collections.models import CollectionAction
from billing.collections.notices import letter_html, render
from billing.documents.delivery import message_for
from billing.documents.render import render_html
from billing.payments.receipts import ReceiptData, text
from core.auth.models import User
from core.auth.service import create_user
from core.formats import Formats
from core.i18n import gettext, language_of, locale_for
from core.notify.message import Channel
from customers.models import Account
from tests.billing.invoice_documents import xof_invoice
from tests.conftest import TEST_PASSWORD


def plain(html: str) -> str:
    """The document's text, cells separated by " | ", babel's no-break spaces as spaces
    (their kind varies between CLDR releases; one test below pins that they are no-break)."""
    body = html[html.index("<body>") :]
    body = re.sub(r"<(svg|style)\b.*?</\1>|<img[^>]*>", "", body, flags=re.S)
    words = re.sub(r"<[^>]+>", " | ", body).replace("\u202f", " ").replace("\xa0", " ")
    return re.sub(r"(\s*\|\s*)+", " | ", words).replace("&#39;", "'")


def spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


# The invoice of tests/billing/invoice_documents.xof_invoice: issued 3 March 2025, due
# 20 March, February 2025; total 18 030 + 3 245 VAT = 21 275; 4 000 owed before: 25 275 due.
INVOICE = {
    "fr": (
        "Facture N° F2025-000123",
        "Émise le | 3 mars 2025 | Compte | 0000000018",
        "Période | 1 févr. 2025 au 28 févr. 2025 | Point de livraison | UP-000042",
        "À payer avant le | 20 mars 2025 | Compteur | SBE2400001",
        "Total hors taxes | 18 030 F CFA | Taxes | 3 245 F CFA",
        "Total de la facture | 21 275 F CFA | Solde antérieur | 4 000 F CFA",
        "Montant à payer | 25 275 F CFA",
        "130 kWh | 115 | 14 950 F CFA",
        "Scannez pour payer",
    ),
    "en": (
        "Invoice No. F2025-000123",
        "Issued | Mar 3, 2025 | Account | 0000000018",
        "Period | Feb 1, 2025 to Feb 28, 2025 | Supply point | UP-000042",
        "Pay by | Mar 20, 2025 | Meter | SBE2400001",
        "Total before taxes | F CFA18,030 | Taxes | F CFA3,245",
        "Invoice total | F CFA21,275 | Previous balance | F CFA4,000",
        "Amount due | F CFA25,275",
        "130 kWh | 115 | F CFA14,950",
        "Scan to pay",
    ),
    "pt": (
        "Fatura N.º F2025-000123",
        "Emitida em | 3 de mar. de 2025 | Conta | 0000000018",
        "Período | 1 de fev. de 2025 a 28 de fev. de 2025 | Ponto de entrega | UP-000042",
        "Pagar até | 20 de mar. de 2025 | Medidor | SBE2400001",
        "Total sem impostos | F CFA 18.030 | Impostos | F CFA 3.245",
        "Total da fatura | F CFA 21.275 | Saldo anterior | F CFA 4.000",
        "Valor a pagar | F CFA 25.275",
        "130 kWh | 115 | F CFA 14.950",
        "Leia para pagar",
    ),
}


@pytest.mark.parametrize("language", ["fr", "en", "pt"])
def test_invoice_in_each_language(language: str) -> None:
    html = render_html(xof_invoice(language=language))
    assert f'<html lang="{language}">' in html
    text_ = plain(html)
    for expected in INVOICE[language]:
        assert expected in text_, (language, expected)


def test_a_credit_note_is_named_so_in_each_language() -> None:
    for language, title in (
        ("fr", "Avoir N°"),
        ("en", "Credit note No."),
        ("pt", "Nota de crédito N.º"),
    ):
        html = render_html(xof_invoice(language=language, kind="credit_note"))
        assert f"<h1>{title} F2025-000123</h1>" in html


def test_french_amounts_never_break_across_lines() -> None:
    # 1 234 567 F CFA: narrow no-break spaces between the groups and inside "F CFA", a
    # no-break space before it (CLDR 42+).
    assert Formats.of("fr").money(1_234_567, "XOF") == "1\u202f234\u202f567\u00a0F\u202fCFA"
    assert " " not in Formats.of("fr").money(1_234_567, "XOF")


# A reminder on account 100000012 (the utility: settings' "Kilowatch Electricity"): 1 234 567
# XOF overdue since 15 October 2026, a fee of 2 500, done on 2 December 2026.
NOTICE = {
    "fr": (
        "Rappel d'impayé",
        "Kilowatch Electricity : RAPPEL. Votre compte 100000012 présente 1 234 567 F CFA"
        " impayés (échéance du 15 oct. 2026). Merci de régler sans tarder."
        " Frais : 2 500 F CFA.",
        ("Compte 100000012", "2 décembre 2026", "Madame, Monsieur Awa Koffi,"),
        "Montant à payer : 1 234 567 F CFA",
        "Si vous avez déjà payé, merci de ne pas tenir compte de ce rappel.",
    ),
    "en": (
        "Payment reminder",
        "Kilowatch Electricity: REMINDER. Account 100000012 has F CFA1,234,567 unpaid"
        " (due Oct 15, 2026). Please pay without delay. Fee: F CFA2,500.",
        ("Account 100000012", "December 2, 2026", "Dear Awa Koffi,"),
        "Amount due: F CFA1,234,567",
        "If you have already paid, please disregard this reminder.",
    ),
    "pt": (
        "Lembrete de pagamento",
        "Kilowatch Electricity: LEMBRETE. A conta 100000012 tem F CFA 1.234.567 em atraso"
        " (vencimento 15 de out. de 2026). Por favor pague sem demora. Taxa: F CFA 2.500.",
        ("Conta 100000012", "2 de dezembro de 2026", "Caro(a) Awa Koffi,"),
        "Valor a pagar: F CFA 1.234.567",
        "Se já pagou, por favor ignore este aviso.",
    ),
}


def _reminder(action: str = "notice") -> CollectionAction:
    return CollectionAction(
        action=action,
        amount_due=1_234_567,
        cycle_start=date(2026, 10, 15),
        done_on=date(2026, 12, 2),
    )


@pytest.mark.parametrize("language", ["fr", "en", "pt"])
def test_dunning_notice_in_each_language(language: str) -> None:
    subject, sms, heading, amount, closing = NOTICE[language]
    account = Account(number="100000012", language=language)
    notice = render(_reminder(), account, fee=2_500)
    assert (notice.language, notice.subject, spaces(notice.text)) == (language, subject, sms)
    letter = plain(letter_html(_reminder(), account, "Awa Koffi", fee=2_500))
    expected = (
        f"Kilowatch Electricity | Awa Koffi | {heading[0]} | {heading[1]} | "
        f"{subject} | {heading[2]} | {sms} | {amount} | {closing} |"
    )
    assert letter.strip(" |") == expected.strip(" |")


def test_cut_and_litigation_notices_and_an_unknown_language() -> None:
    account = Account(number="100000012", language="en")
    assert spaces(render(_reminder("cut_eligible"), account).text) == (
        "Kilowatch Electricity: DISCONNECTION NOTICE. Account 100000012 has F CFA1,234,567"
        " unpaid (due Oct 15, 2026). Without payment your supply may be cut."
    )
    account.language = "pt"
    assert render(_reminder("litigation"), account).subject == "Notificação formal"
    account.language = "de"  # a language we do not write: French, the utility's own
    assert render(_reminder(), account).subject == "Rappel d'impayé"


# The invoice's e-mail (medium dates) and SMS (short dates): 25 275 due by 20 March 2025.
MESSAGES = {
    "fr": (
        "Facture F2025-000123 — 25 275 F CFA à payer avant le 20 mars 2025",
        "Bonjour Adjoa Houngbo,\n\nVotre facture F2025-000123 pour la période du"
        " 1 févr. 2025 au 28 févr. 2025 est jointe.\nMontant à payer : 25 275 F CFA,"
        " avant le 20 mars 2025.\nRéférence de paiement : RF39 F202 5000 123\n\n"
        "Société Béninoise d'Énergie Électrique",
        "Société Béninoise d'Énergie Électrique : Facture F2025-000123, 25 275 F CFA"
        " à payer avant le 20/03/2025. Réf. RF39 F202 5000 123",
    ),
    "en": (
        "Invoice F2025-000123 — F CFA25,275 due by Mar 20, 2025",
        "Hello Adjoa Houngbo,\n\nYour invoice F2025-000123 for Feb 1, 2025 to Feb 28, 2025"
        " is attached.\nAmount due: F CFA25,275, by Mar 20, 2025.\nPayment reference:"
        " RF39 F202 5000 123\n\nSociété Béninoise d'Énergie Électrique",
        "Société Béninoise d'Énergie Électrique: Invoice F2025-000123, F CFA25,275 due by"
        " 3/20/25. Ref. RF39 F202 5000 123",
    ),
    "pt": (
        "Fatura F2025-000123 — F CFA 25.275 a pagar até 20 de mar. de 2025",
        "Olá Adjoa Houngbo,\n\nSegue a sua fatura F2025-000123 do período de"
        " 1 de fev. de 2025 a 28 de fev. de 2025.\nValor a pagar: F CFA 25.275,"
        " até 20 de mar. de 2025.\nReferência de pagamento: RF39 F202 5000 123\n\n"
        "Société Béninoise d'Énergie Électrique",
        "Société Béninoise d'Énergie Électrique: Fatura F2025-000123, F CFA 25.275 a pagar"
        " até 20/03/2025. Ref. RF39 F202 5000 123",
    ),
}


@pytest.mark.parametrize("language", ["fr", "en", "pt"])
def test_invoice_email_and_sms_in_each_language(language: str) -> None:
    subject, body, sms = MESSAGES[language]
    document = xof_invoice(language=language)
    # message_for attaches the PDF to the e-mail: the words are what is checked here.
    email = message_for(document, Channel.EMAIL, "adjoa@example.org")
    assert (spaces(email.subject or ""), spaces(email.body)) == (subject, body)
    assert email.language == language
    assert spaces(message_for(document, Channel.SMS, "+22961000001").body) == sms


RECEIPT = ReceiptData(
    number="R-000042",
    duplicate=True,
    prints=2,
    account_number="100000012",
    payer="Awa Koffi",
    amount="12 000 F CFA",  # formatted by receipt_data in the account's locale
    channel="desk",
    instrument="espèces",
    received_at="02/12/2026 14:05",
    status="reversed",
    reference=None,
    utility="Kilowatch",
)


def test_thermal_receipt_words_in_each_language_folded_to_ascii() -> None:
    head = {
        "fr": ("Recu R-000042", "*** DUPLICATA (2) ***", "*** ANNULE ***", "Payeur", "MONTANT"),
        "en": ("Receipt R-000042", "*** DUPLICATE (2) ***", "*** CANCELLED ***", "Payer", "AMOUNT"),
        "pt": ("Recibo R-000042", "*** SEGUNDA VIA (2) ***", "*** ANULADO ***", "Pagador", "VALOR"),
    }
    for language, (title, duplicate, cancelled, payer, amount) in head.items():
        lines = [
            line.strip()
            for line in text(
                RECEIPT.__class__(**{**RECEIPT.__dict__, "language": language})
            ).splitlines()
        ]
        assert lines[1] == title and lines[3] == duplicate and lines[4] == cancelled
        assert any(line.startswith(payer) and line.endswith("Awa Koffi") for line in lines)
        assert any(line.startswith(amount) and line.endswith("12 000 F CFA") for line in lines)


def test_languages_resolve_and_format_with_the_deployment_locale() -> None:
    assert gettext("pt_BR", "Compte") == "Conta"
    assert gettext("en-GB", "Compte") == "Account"
    assert (language_of("PT"), language_of("de"), language_of(None)) == ("pt", "fr", "fr")
    # The deployment is fr_BJ: French writes with it, the others with their own.
    assert (locale_for("fr"), locale_for("en"), locale_for("pt_BR")) == ("fr_BJ", "en", "pt")


def _sign_in(client: TestClient, db: Session, username: str) -> None:
    create_user(db, username=username, password=TEST_PASSWORD, roles=["manager"])
    db.commit()
    client.post("/login", data={"username": username, "password": TEST_PASSWORD})


def test_interface_follows_the_browser_language(client: TestClient, db: Session) -> None:
    _sign_in(client, db, "lang-manager")
    for header, word in (
        ("pt-BR,pt;q=0.9", "Relatórios"),
        ("fr", "Rapports"),
        ("en-GB", "Reports"),
        ("de-DE,de;q=0.9", "Rapports"),  # none we speak: the deployment's French
    ):
        page = client.get("/reports", headers={"Accept-Language": header})
        assert page.status_code == 200
        assert f">{word}</a>" in page.text, header
    # Plurals follow each language's rule: French counts 0 as one, English as many.
    for header, sentence in (
        ("fr", "0 alerte ouverte, la plus prioritaire d'abord."),
        ("en", "0 open flags, highest priority first."),
    ):
        queue = client.get("/fraud/flags", headers={"Accept-Language": header})
        assert sentence in queue.text.replace("&#39;", "'"), header
    client.cookies.set("kw_lang", "pt")
    assert ">Processos</a>" in client.get("/ops/processes").text


def test_a_user_chooses_their_language_and_keeps_it(client: TestClient, db: Session) -> None:
    _sign_in(client, db, "lang-chooser")
    unknown = client.post("/language", data={"language": "xx", "next": "/"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "language_unknown")
    chosen = client.post(
        "/language", data={"language": "pt", "next": "/cash-desks"}, follow_redirects=False
    )
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/cash-desks")
    user = db.query(User).filter_by(username="lang-chooser").one()
    db.refresh(user)
    assert user.language == "pt"
    page = client.get("/cash-desks", params={"day": "2026-12-02"})
    assert '<html lang="pt">' in page.text
    assert "<h1>Caixas em 2026-12-02</h1>" in page.text and "<th>Diferença</th>" in page.text
    # Another browser without the cookie: the user's choice still holds (it is on the user).
    client.cookies.clear()
    client.post("/login", data={"username": "lang-chooser", "password": TEST_PASSWORD})
    assert ">Sair</button>" in client.get("/", headers={"Accept-Language": "fr"}).text


def test_portal_codes_speak_the_customer_language(db: Session) -> None:
    from core.notify import service as notify
    from core.notify.gateways import RecordingGateway
    from customers.models import Party
    from customers.portal import service as portal

    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        identity = portal.register(
            db, first_name="Ana", last_name="Lopes", login="ana@example.org", password="x" * 12
        )
        party = db.get_one(Party, identity.party_id)
        party.language = "pt"  # the desk records that she reads Portuguese
        db.flush()
        portal.request_reset(db, login="ana@example.org")
    verify, reset = outbox.sent
    # A new party's language is the default, French; the reset follows her new one.
    assert verify.subject == "Kilowatch : votre code" and verify.language == "fr"
    assert re.fullmatch(
        r"Votre code Kilowatch pour vérifier votre compte : \d{6} \(valable 30 minutes\)\.",
        verify.body,
    )
    assert (reset.subject, reset.language) == ("Kilowatch: o seu código", "pt")
    assert re.fullmatch(
        r"O seu código Kilowatch para redefinir a palavra-passe: \d{6} \(válido 30 minutos\)\.",
        reset.body,
    )
