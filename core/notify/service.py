"""Sending a message: the gateway of its channel delivers it, the notification log keeps
the outcome (flushed with the caller's session, never committed here).

A message leaves when the gateway is called, whatever becomes of the caller's
transaction: send from a task that runs after the business change committed (an invoice
issued, then delivered), so a rolled-back change never sends a message about itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.notify.gateways import Gateway, from_settings
from core.notify.message import Channel, Message, Outcome, Status
from core.notify.models import Notification
from core.settings import get_settings

# Gateways in use, per channel: built from the settings on first use; replaced by
# ``use_gateway`` (tests, demos).
_gateways: dict[Channel, Gateway] = {}


def gateway(channel: Channel) -> Gateway:
    """The gateway delivering ``channel`` (as the settings choose, unless replaced)."""
    if channel not in _gateways:
        _gateways[channel] = from_settings(channel, get_settings())
    return _gateways[channel]


@contextmanager
def use_gateway(channel: Channel, replacement: Gateway) -> Iterator[Gateway]:
    """Deliver ``channel`` through ``replacement`` within the block (a recording fake in
    a test), then go back to what was there."""
    before = _gateways.get(channel)
    _gateways[channel] = replacement
    try:
        yield replacement
    finally:
        if before is None:
            _gateways.pop(channel, None)
        else:
            _gateways[channel] = before


def send(
    session: Session, actor: Actor, message: Message, *, reference: str | None = None
) -> Notification:
    """Hand ``message`` to its channel's gateway and record what it answered. A gateway
    that crashes (a bug, not a refusal) is recorded as a failure too, then re-raised."""
    delivery = gateway(message.channel)
    try:
        outcome = delivery.send(message)
    except Exception as exc:
        _record(session, actor, message, delivery.name, reference, Outcome.failed(repr(exc)))
        raise
    return _record(session, actor, message, delivery.name, reference, outcome)


def _record(
    session: Session,
    actor: Actor,
    message: Message,
    backend: str,
    reference: str | None,
    outcome: Outcome,
) -> Notification:
    row = Notification(
        channel=message.channel.value,
        backend=backend,
        recipients=list(message.to),
        subject=message.subject,
        language=message.language,
        reference=reference,
        attachments=[
            {"filename": a.filename, "mime_type": a.mime_type, "bytes": len(a.content)}
            for a in message.attachments
        ],
        status=outcome.status.value,
        provider_id=outcome.provider_id,
        error=outcome.error,
        sent_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    return row


def deliveries(session: Session, reference: str) -> list[Notification]:
    """Every send recorded about ``reference``, oldest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.reference == reference)
            .order_by(Notification.id)
        )
    )


__all__ = ["Channel", "Message", "Status", "deliveries", "gateway", "send", "use_gateway"]
