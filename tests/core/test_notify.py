"""Messages through the gateways: the recording fake, a real SMTP conversation with a
local server, an SMS provider's HTTP API, and the log of every send with its outcome."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.notify import service
from core.notify.gateways import (
    GatewayConfigError,
    HttpSmsGateway,
    RecordingGateway,
    SmtpEmailGateway,
    from_settings,
)
from core.notify.message import Attachment, Channel, Message, Status
from core.settings import Settings
from tests.support.servers import sms_provider, smtp_server

ACTOR = Actor(user_id=None, username="billing-job", scopes=frozenset({"*"}))
PDF = Attachment("F2025-000123.pdf", b"%PDF-1.7 fake", "application/pdf")


def invoice_mail(*to: str) -> Message:
    return Message(
        channel=Channel.EMAIL,
        to=to,
        subject="Votre facture F2025-000123",
        body="Bonjour, votre facture de février est jointe.",
        html="<p>Bonjour, votre facture de <b>février</b> est jointe.</p>",
        attachments=(PDF,),
        language="fr",
    )


def test_the_recording_gateway_keeps_messages_and_the_log_keeps_outcomes(db: Session) -> None:
    fake = RecordingGateway(refuse={"bad@example.org"})
    with service.use_gateway(Channel.EMAIL, fake):
        sent = service.send(db, ACTOR, invoice_mail("adjoa@example.org"), reference="invoice:7")
        failed = service.send(db, ACTOR, invoice_mail("bad@example.org"), reference="invoice:7")
    assert [m.to for m in fake.sent] == [("adjoa@example.org",)]
    assert (sent.status, sent.backend, sent.provider_id) == ("sent", "recording", "recorded-1")
    assert (failed.status, failed.error) == ("failed", "refused: bad@example.org")
    log = service.deliveries(db, "invoice:7")
    assert [(n.recipients, n.status) for n in log] == [
        (["adjoa@example.org"], "sent"),
        (["bad@example.org"], "failed"),
    ]
    # The attachment's name and size are kept, never its content.
    assert log[0].attachments == [
        {"filename": "F2025-000123.pdf", "mime_type": "application/pdf", "bytes": 13}
    ]


def test_the_log_is_append_only(db: Session) -> None:
    with service.use_gateway(Channel.SMS, RecordingGateway()):
        row = service.send(
            db, ACTOR, Message(Channel.SMS, ("+22997123456",), "Facture 8 708 F CFA"), reference="x"
        )
    with pytest.raises(Exception, match=r"append-only|send again"), db.begin_nested():
        db.execute(
            text("UPDATE core_notification SET status = 'sent' WHERE id = :id"), {"id": row.id}
        )


def test_an_email_goes_through_a_real_smtp_conversation() -> None:
    with smtp_server() as (port, received):
        gateway = SmtpEmailGateway(host="127.0.0.1", port=port, sender="factures@sbee.bj")
        outcome = gateway.send(invoice_mail("adjoa@example.org", "koffi@example.org"))
    assert outcome.status is Status.SENT and outcome.provider_id
    [mail] = received.mails
    assert mail["from"] == "factures@sbee.bj"
    assert mail["to"] == ["adjoa@example.org", "koffi@example.org"]
    parsed = email.message_from_bytes(mail["data"], policy=email.policy.default)
    assert parsed["Subject"] == "Votre facture F2025-000123"
    assert parsed["Content-Language"] == "fr"
    parts = {part.get_content_type(): part for part in parsed.walk()}
    assert "février" in parts["text/plain"].get_content()
    assert "<b>février</b>" in parts["text/html"].get_content()
    assert parts["application/pdf"].get_filename() == "F2025-000123.pdf"
    assert parts["application/pdf"].get_content() == b"%PDF-1.7 fake"


def test_smtp_refusals_and_an_unreachable_server_are_failures_not_crashes() -> None:
    with smtp_server() as (port, _received):
        gateway = SmtpEmailGateway(host="127.0.0.1", port=port)
        refused = gateway.send(invoice_mail("adjoa@example.org", "nobody@refused.invalid"))
    assert refused.status is Status.FAILED
    assert "nobody@refused.invalid" in (refused.error or "")
    # The server is gone: the port refuses the connection.
    gone = SmtpEmailGateway(host="127.0.0.1", port=port, timeout=2).send(invoice_mail("a@b.org"))
    assert gone.status is Status.FAILED and "Error" in (gone.error or "")


def test_an_sms_goes_to_the_provider_api_with_its_token() -> None:
    with sms_provider() as (url, received):
        gateway = HttpSmsGateway(url=url, token="s3cret", sender="SBEE")
        outcome = gateway.send(
            Message(
                Channel.SMS, ("+22997123456",), "Facture F2025-000123: 11 208 F CFA", language="fr"
            )
        )
    assert (outcome.status, outcome.provider_id) == (Status.SENT, "msg-1")
    [request] = received.requests
    assert request["authorization"] == "Bearer s3cret"
    assert request["json"] == {
        "from": "SBEE",
        "to": ["+22997123456"],
        "text": "Facture F2025-000123: 11 208 F CFA",
        "language": "fr",
    }


def test_a_provider_refusal_is_recorded_with_its_answer() -> None:
    with sms_provider(status=429) as (url, _received):
        outcome = HttpSmsGateway(url=url).send(Message(Channel.SMS, ("+22997123456",), "x"))
    assert outcome.status is Status.FAILED
    assert outcome.error is not None and outcome.error.startswith("HTTP 429")
    assert "quota exceeded" in outcome.error


def test_settings_choose_the_gateways() -> None:
    smtp = from_settings(
        Channel.EMAIL, Settings(email_backend="smtp", smtp_host="mail.sbee.bj", smtp_port=587)
    )
    assert isinstance(smtp, SmtpEmailGateway) and (smtp.host, smtp.port) == ("mail.sbee.bj", 587)
    sms = from_settings(Channel.SMS, Settings(sms_backend="http", sms_gateway_url="https://x/sms"))
    assert isinstance(sms, HttpSmsGateway)
    assert isinstance(from_settings(Channel.SMS, Settings()), RecordingGateway)
    with pytest.raises(GatewayConfigError, match="SMTP_HOST"):
        from_settings(Channel.EMAIL, Settings(email_backend="smtp"))
    with pytest.raises(GatewayConfigError, match="carrier-pigeon"):
        from_settings(Channel.SMS, Settings(sms_backend="carrier-pigeon"))


def test_a_message_needs_a_recipient_and_an_sms_no_attachment() -> None:
    with pytest.raises(ValueError, match="recipient"):
        Message(Channel.EMAIL, (), "x")
    with pytest.raises(ValueError, match="attachment"):
        Message(Channel.SMS, ("+22997123456",), "x", attachments=(PDF,))
