"""What is sent (a :class:`Message` and its attachments) and what came of it (an
:class:`Outcome`). Plain data: gateways and the notification log both speak it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    """How a message reaches a person."""

    EMAIL = "email"
    SMS = "sms"


class Status(StrEnum):
    """What became of one send. ``sent``: the gateway accepted it (a mail server or an SMS
    provider took it over; delivery to the handset or mailbox is theirs)."""

    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (an invoice PDF, a statement)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """One message to one or more recipients of one channel: e-mail addresses or E.164
    phone numbers. ``body`` is plain text (the SMS itself, or the e-mail's text part);
    ``html`` an optional HTML alternative for e-mail. ``language`` is the recipient's (the
    text is already written in it; gateways may pass it on, e.g. for an SMS encoding)."""

    channel: Channel
    to: tuple[str, ...]
    body: str
    subject: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    language: str = "fr"

    def __post_init__(self) -> None:
        if not self.to or any(not address.strip() for address in self.to):
            raise ValueError("a message needs at least one recipient")
        if self.channel is Channel.SMS and self.attachments:
            raise ValueError("an SMS carries no attachment")


@dataclass(frozen=True)
class Outcome:
    """What a gateway answered: sent (with the provider's message id when it gives one) or
    failed (with the reason)."""

    status: Status
    provider_id: str | None = None
    error: str | None = None
    details: dict[str, str] = field(default_factory=dict)

    @classmethod
    def sent(cls, provider_id: str | None = None) -> Outcome:
        return cls(Status.SENT, provider_id=provider_id)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls(Status.FAILED, error=error)
