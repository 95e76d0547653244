"""Delivery gateways: one per channel, chosen by a setting.

- ``smtp`` (e-mail): the standard library's ``smtplib`` to the utility's mail server
  (``KILOWATCH_SMTP_*``), STARTTLS or implicit TLS as configured;
- ``http`` (SMS): a JSON POST to an SMS provider's HTTP API (``KILOWATCH_SMS_GATEWAY_URL``,
  bearer token ``KILOWATCH_SMS_GATEWAY_TOKEN``), the shape most aggregators accept; a
  provider with another shape gets a gateway class of its own beside this one;
- ``recording`` (either): keeps every message in memory and sends nothing: tests, demos
  and a machine with no mail server. It can be told to refuse some recipients, so the
  failure paths are tested too.

A gateway never raises for a refused message: it answers an :class:`Outcome`, so a batch
of sends goes on past one bad address and each outcome is recorded.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from core.notify.message import Channel, Message, Outcome
from core.settings import Settings


class GatewayConfigError(ValueError):
    """A backend setting names no known gateway, or lacks what it needs."""


class Gateway(Protocol):
    """Delivers messages of one channel."""

    name: str

    def send(self, message: Message) -> Outcome: ...


def build_email(message: Message, sender: str) -> EmailMessage:
    """The MIME e-mail of ``message``: text body, optional HTML alternative, attachments."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = ", ".join(message.to)
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    email.set_content(message.body)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    for item in message.attachments:
        maintype, _, subtype = item.mime_type.partition("/")
        email.add_attachment(
            item.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    # Last: building the body moves every Content-* header into the first part.
    email["Content-Language"] = message.language
    return email


@dataclass
class SmtpEmailGateway:
    """E-mail through an SMTP server (standard library)."""

    host: str
    port: int = 25
    sender: str = "billing@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    implicit_tls: bool = False
    timeout: float = 30.0
    name: str = "smtp"

    def send(self, message: Message) -> Outcome:
        email = build_email(message, self.sender)
        try:
            client: smtplib.SMTP
            if self.implicit_tls:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome.failed(f"{type(exc).__name__}: {exc}")
        if refused:  # some recipients refused, the others accepted: say which
            return Outcome.failed(f"refused by the server: {', '.join(sorted(refused))}")
        return Outcome.sent(str(email["Message-ID"]))


@dataclass
class HttpSmsGateway:
    """SMS through a provider's HTTP API: ``POST url`` with JSON ``{"from", "to", "text",
    "language"}`` and a bearer token; a 2xx answer is accepted (its JSON ``id`` kept as the
    provider's message id), anything else is a failure with the answer's status."""

    url: str
    token: str | None = None
    sender: str = "KILOWATCH"
    timeout: float = 30.0
    name: str = "http"

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise GatewayConfigError(f"an SMS gateway URL is http(s), not {self.url!r}")

    def send(self, message: Message) -> Outcome:
        payload = {
            "from": self.sender,
            "to": list(message.to),
            "text": message.body,
            "language": message.language,
        }
        request = urllib.request.Request(  # noqa: S310 (http(s) only: __post_init__)
            self.url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                body = answer.read()
        except urllib.error.HTTPError as exc:
            return Outcome.failed(f"HTTP {exc.code}: {exc.read()[:200].decode(errors='replace')}")
        except (urllib.error.URLError, OSError) as exc:
            return Outcome.failed(f"{type(exc).__name__}: {exc}")
        try:
            provider_id = json.loads(body or b"{}").get("id")
        except (ValueError, AttributeError):
            provider_id = None
        return Outcome.sent(None if provider_id is None else str(provider_id))


@dataclass
class RecordingGateway:
    """Sends nothing and remembers everything (tests, demos). Recipients in ``refuse`` are
    answered with a failure, as a real gateway refusing a bad address would."""

    name: str = "recording"
    sent: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def send(self, message: Message) -> Outcome:
        refused = [address for address in message.to if address in self.refuse]
        if refused:
            return Outcome.failed(f"refused: {', '.join(refused)}")
        self.sent.append(message)
        return Outcome.sent(f"recorded-{len(self.sent)}")


def from_settings(channel: Channel, settings: Settings) -> Gateway:
    """The gateway the settings choose for ``channel``."""
    if channel is Channel.EMAIL:
        backend = settings.email_backend
        if backend == "smtp":
            if not settings.smtp_host:
                raise GatewayConfigError("KILOWATCH_EMAIL_BACKEND=smtp needs KILOWATCH_SMTP_HOST")
            return SmtpEmailGateway(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_from,
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
                implicit_tls=settings.smtp_implicit_tls,
            )
    else:
        backend = settings.sms_backend
        if backend == "http":
            if not settings.sms_gateway_url:
                raise GatewayConfigError(
                    "KILOWATCH_SMS_BACKEND=http needs KILOWATCH_SMS_GATEWAY_URL"
                )
            return HttpSmsGateway(
                url=settings.sms_gateway_url,
                token=settings.sms_gateway_token,
                sender=settings.sms_sender,
            )
    if backend == "recording":
        return RecordingGateway()
    raise GatewayConfigError(f"no {channel.value} gateway {backend!r}")
