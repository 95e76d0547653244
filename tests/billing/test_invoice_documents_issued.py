"""Issued invoices printed and delivered: the document built from the stored invoice, its
PDF over the API, e-mail and SMS through the recording gateway, every send logged."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from stdnum import iso11649

from billing.documents import delivery
from billing.documents.from_invoice import invoice_document
from billing.documents.qr import parse_kwpay, payment_payload
from billing.invoices import repository as invoices
from billing.invoices.enums import InvoiceReason
from billing.invoices.service import issue_bill
from billing.ledger.models import TransactionKind
from billing.ledger.service import Line, post
from core.context import SYSTEM
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from core.periods import Period
from customers.models import Account
from tests.billing.invoice_documents import pdf_text
from tests.billing.test_runs import bill_january
from tests.billing.world import customer, month_total, read
from tests.conftest import bearer


def january_invoice(db: Session, kwh: int = 150, owed_before: int = 0):
    """One customer billed for January 2026 (``kwh`` kWh read on 31 Jan)."""
    who = customer(db)
    if owed_before:
        post(
            db,
            SYSTEM,
            kind=TransactionKind.OPENING_BALANCE,
            entry_date=date(2025, 12, 31),
            currency="XOF",
            lines=[
                Line("receivable", owed_before, who.account_id),
                Line("equity:opening", -owed_before),
            ],
        )
    read(db, who, date(2026, 1, 31), kwh)
    run = bill_january(db, [who.usage_point_id])
    [invoice] = invoices.invoices_page(db, SYSTEM, run_id=run.id)[0]
    return who, invoice


def test_the_document_of_an_issued_invoice(db: Session) -> None:
    who, invoice = january_invoice(db, 150, owed_before=2500)
    document = invoice_document(db, SYSTEM, invoice.id)
    # 150 kWh: 500 + 100*50 + 50*80 = 9 500 net, TVA 18 % = 1 710, total 11 210.
    assert month_total(150) == 11210
    assert (document.net, document.taxes, document.total) == (9500, 1710, 11210)
    assert document.previous_balance == 2500  # the opening balance posted before it
    assert document.amount_due == 11210 + 2500
    assert document.customer.meter_serial == who.meter_serial
    assert document.reference == invoice.payment_reference
    assert iso11649.is_valid(document.reference)
    assert [(p.label, p.kwh) for p in document.history] == [("2026-01", 150)]
    # Fitted at 0 on 31 Dec, read 150 on 31 Jan: the indexes printed account for the kWh.
    [indexes] = document.readings
    assert (indexes.register, indexes.previous, indexes.current, indexes.kwh) == (
        "total",
        0,
        150,
        150,
    )
    assert parse_kwpay(payment_payload(document))["amount"] == str(11210 + 2500)


def test_february_prints_january_read_as_its_opening_index(db: Session) -> None:
    who, _january = january_invoice(db, 150)
    read(db, who, date(2026, 2, 27), 120)
    february = issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=Period(date(2026, 2, 1), date(2026, 3, 1)),
        kwh={"total": Decimal(120)},
        reason=InvoiceReason.CYCLE,
    )
    document = invoice_document(db, SYSTEM, february.id)
    [indexes] = document.readings
    assert (indexes.previous, indexes.current, indexes.kwh) == (150, 270, 120)  # 270 - 150
    assert [p.label for p in document.history] == ["2026-01", "2026-02"]
    # Billed kWh that the reads do not account for (an adjusted bill): no indexes printed.
    adjusted = issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=Period(date(2026, 3, 1), date(2026, 4, 1)),
        kwh={"total": Decimal(40)},
        reason=InvoiceReason.CYCLE,
        estimated=True,
    )
    [none] = invoice_document(db, SYSTEM, adjusted.id).readings
    assert (none.previous, none.current) == (None, None)


def test_the_pdf_over_the_api(client: TestClient, db: Session, make_user) -> None:
    _who, invoice = january_invoice(db, 150)
    db.commit()
    response = client.get(
        f"/api/v1/invoices/{invoice.id}/pdf", headers=bearer(make_user("cashier"))
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response.headers["content-disposition"]
    _pages, text = pdf_text(response.content)
    text = re.sub(r"[\u202f\u00a0]", " ", text)
    assert invoice.number in text
    assert "11 210 F CFA" in text  # the total: 9 500 + 1 710
    assert (
        client.get("/api/v1/invoices/987654/pdf", headers=bearer(make_user("cashier"))).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("channel", "address", "field"),
    [("email", "awa@example.org", "delivery_email"), ("sms", "+22997123456", "delivery_phone")],
)
def test_delivery_by_the_account_channel_is_logged(
    db: Session, channel: str, address: str, field: str
) -> None:
    who, invoice = january_invoice(db, 150)
    account = db.get(Account, who.account_id)
    account.delivery_channel = channel
    setattr(account, field, address)
    db.flush()
    fake = RecordingGateway()
    with notify.use_gateway(Channel(channel), fake):
        [sent] = delivery.deliver_invoice(db, SYSTEM, invoice.id)
        # A redelivered task sends nothing twice.
        assert delivery.deliver_invoice(db, SYSTEM, invoice.id) == []
    assert (sent.status, sent.recipients, sent.reference) == (
        "sent",
        [address],
        f"invoice:{invoice.id}",
    )
    [message] = fake.sent
    assert invoice.number in message.body
    assert iso11649.format(invoice.payment_reference) in message.body
    if channel == "email":
        [attachment] = message.attachments
        assert attachment.filename == f"{invoice.number}.pdf"
        assert pdf_text(attachment.content)[0] == 1
        assert invoice.number in message.subject
    else:
        assert "11 210" in re.sub(r"[\u202f\u00a0]", " ", message.body)


def test_paper_accounts_get_nothing_and_missing_addresses_are_refused(db: Session) -> None:
    who, invoice = january_invoice(db, 150)
    assert delivery.deliver_invoice(db, SYSTEM, invoice.id) == []  # paper by default
    account = db.get(Account, who.account_id)
    account.delivery_channel = "email"
    db.flush()
    with pytest.raises(delivery.InvoiceDeliveryUnavailableError):
        delivery.deliver_invoice(db, SYSTEM, invoice.id)


def test_a_refused_send_is_logged_and_shown_over_the_api(
    client: TestClient, db: Session, make_user
) -> None:
    who, invoice = january_invoice(db, 150)
    account = db.get(Account, who.account_id)
    account.delivery_channel, account.delivery_email = "email", "bounce@example.org"
    db.commit()
    officer = bearer(make_user("billing_officer"))
    with notify.use_gateway(Channel.EMAIL, RecordingGateway(refuse={"bounce@example.org"})):
        answer = client.post(f"/api/v1/invoices/{invoice.id}/deliveries", headers=officer)
    assert answer.status_code == 201
    assert [(d["status"], d["error"]) for d in answer.json()] == [
        ("failed", "refused: bounce@example.org")
    ]
    listed = client.get(f"/api/v1/invoices/{invoice.id}/deliveries", headers=officer).json()
    assert [d["status"] for d in listed] == ["failed"]


def test_a_print_batch_over_the_api(
    client: TestClient, db: Session, make_user, tmp_path, monkeypatch
) -> None:
    from billing.documents import batches
    from core.settings import get_settings

    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    _who, invoice = january_invoice(db, 150)
    db.commit()
    officer = bearer(make_user("billing_officer"))
    queued = client.post(
        "/api/v1/print-batches",
        headers=officer,
        json={"invoice_ids": [invoice.id], "output": "zip"},
    )
    assert queued.status_code == 202, queued.text
    batch = queued.json()
    assert (batch["status"], batch["total"], batch["done"]) == ("queued", 1, 0)
    path = f"/api/v1/print-batches/{batch['id']}"
    assert client.get(f"{path}/file", headers=officer).status_code == 404  # not rendered yet
    # The worker's part (its task leaves only after a real commit; run it here).
    batches.run_batch(db, batch["id"])
    db.commit()
    done = client.get(path, headers=officer).json()
    assert (done["status"], done["done"]) == ("done", 1)
    archive = client.get(f"{path}/file", headers=officer)
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    unknown = client.post(
        "/api/v1/print-batches", headers=officer, json={"invoice_ids": [987654321]}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "reference_unknown"


def test_invoices_never_sent_are_found_by_the_sweep(db: Session) -> None:
    who, invoice = january_invoice(db, 150)
    assert invoice.id not in delivery.pending_deliveries(db)  # paper: printed, not sent
    account = db.get(Account, who.account_id)
    account.delivery_channel, account.delivery_phone = "sms", "+22997123456"
    db.flush()
    assert invoice.id in delivery.pending_deliveries(db)
    with notify.use_gateway(Channel.SMS, RecordingGateway(refuse={"+22997123456"})):
        delivery.deliver_invoice(db, SYSTEM, invoice.id)
    # Tried once (refused, logged): the sweep does not send it again by itself.
    assert invoice.id not in delivery.pending_deliveries(db)
