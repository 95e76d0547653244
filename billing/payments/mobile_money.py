"""Mobile money: operators' validation and confirmation callbacks (the M-Pesa C2B style
and a generic aggregator style), and reconciliation against the operator's daily
statement.

A validation asks "may this customer pay this bill reference?": yes when the reference (an
account number or an invoice's RF reference) names an account. A confirmation says the
money was taken: it is posted once per operator transaction id (a retried callback finds
the payment or the unmatched receipt and posts nothing), to the account the reference
names, or queued for manual matching when none. Callers are operators, not staff: the
API authenticates them with ``verify_operator`` (shared-secret HMAC or address allowlist).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments import matching, service
from billing.payments.enums import Channel, Instrument, PaymentStatus
from billing.payments.errors import CallbackRejectedError
from billing.payments.models import Payment, UnmatchedReceipt
from core.context import Actor
from core.money import CurrencyUnknownError, RoundingMode, minor_exponent, to_minor
from core.settings import Settings, get_settings
from core.territory import visible

SIGNATURE_PREFIX = "sha256="
STATEMENT_BYTES_MAX = 10 * 1024 * 1024


def operator_actor(operator: str) -> Actor:
    """Who posts an operator's payments: a system principal named after the operator."""
    return Actor(user_id=None, username=f"mobile-money:{operator}", scopes=frozenset())


def signature(secret: str, body: bytes) -> str:
    """The header value an operator sends: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_operator(
    body: bytes, signature_header: str | None, peer: str | None, settings: Settings | None = None
) -> bool:
    """A callback is the operator's when its signature matches the shared secret, or when
    it comes from an allowlisted address. Constant-time comparison."""
    settings = settings or get_settings()
    if settings.mobile_money_secret and signature_header:
        expected = signature(settings.mobile_money_secret, body)
        if hmac.compare_digest(expected.encode(), signature_header.strip().encode()):
            return True
    if peer and settings.mobile_money_allowlist:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(
            address in ipaddress.ip_network(entry, strict=False)
            for entry in settings.mobile_money_allowlist
        )
    return False


@dataclass(frozen=True)
class Callback:
    """One operator notification, whatever its style."""

    operator: str
    transaction_id: str
    amount: int
    currency: str
    reference: str
    paid_at: datetime
    msisdn: str | None = None
    payer_name: str | None = None


def amount_minor(value: str | int | float | Decimal, currency: str) -> int:
    try:
        minor_exponent(currency)
        amount = to_minor(Decimal(str(value)), currency, RoundingMode.HALF_EVEN)
    except (InvalidOperation, CurrencyUnknownError, ValueError) as exc:
        raise CallbackRejectedError(f"amount {value!r} {currency!r} cannot be read") from exc
    if amount <= 0:
        raise CallbackRejectedError("the amount is not positive")
    return amount


def mpesa_time(value: str | None) -> datetime:
    """M-Pesa's ``TransTime`` (YYYYMMDDHHMMSS, the operator's local time)."""
    zone = ZoneInfo(get_settings().timezone)
    try:
        local = datetime.strptime(value or "", "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        return datetime.now(UTC)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Validation:
    accepted: bool
    customer_account_id: int | None
    reason: str


def validate(session: Session, callback: Callback) -> Validation:
    """May the customer pay with this reference? Never posts anything."""
    match = matching.find_account(
        session, operator_actor(callback.operator), callback.reference, callback.amount
    )
    if match is None:
        return Validation(False, None, "unknown bill reference")
    return Validation(True, match.customer_account_id, f"matched by {match.rule}")


@dataclass(frozen=True)
class Confirmation:
    status: str  # "posted" | "queued" | "duplicate"
    payment: Payment | None = None
    unmatched_id: int | None = None


def confirm(session: Session, callback: Callback) -> Confirmation:
    """Post the operator's transaction once (or queue it when it names no account)."""
    if matching.known(session, Channel.MOBILE_MONEY, callback.transaction_id):
        return Confirmation(
            "duplicate",
            service.existing(session, Channel.MOBILE_MONEY.value, callback.transaction_id),
        )
    taken = matching.take(
        session,
        operator_actor(callback.operator),
        matching.Receipt(
            channel=Channel.MOBILE_MONEY,
            instrument=Instrument.MOBILE_MONEY,
            external_id=callback.transaction_id,
            amount=callback.amount,
            currency=callback.currency,
            received_at=callback.paid_at,
            text=callback.reference,
            payer_name=callback.payer_name,
            payer_account=callback.msisdn,
            raw={"operator": callback.operator},
        ),
    )
    if isinstance(taken, Payment):
        return Confirmation("posted", taken)
    return Confirmation("queued", None, taken.id)


# -- reconciliation against the operator's daily statement ---------------------------------


@dataclass(frozen=True)
class StatementLine:
    transaction_id: str
    amount: int
    paid_on: date


@dataclass
class Reconciliation:
    """What the operator's statement and Kilowatch disagree on, for one day."""

    day: date
    matched: int = 0
    missing_in_kilowatch: list[StatementLine] = field(default_factory=list)
    missing_in_statement: list[tuple[str, int]] = field(default_factory=list)
    amount_differs: list[tuple[str, int, int]] = field(default_factory=list)  # id, ours, theirs


def parse_statement(content: bytes, currency: str) -> list[StatementLine]:
    """The operator's CSV: ``transaction_id,amount,date`` (header row; date ISO 8601)."""
    try:
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CallbackRejectedError(f"the statement is not a UTF-8 CSV: {exc}") from exc
    lines = []
    for number, row in enumerate(rows, start=2):
        try:
            lines.append(
                StatementLine(
                    transaction_id=(row.get("transaction_id") or "").strip(),
                    amount=amount_minor(row.get("amount") or "", currency),
                    paid_on=date.fromisoformat((row.get("date") or "").strip()[:10]),
                )
            )
        except (CallbackRejectedError, ValueError) as exc:
            raise CallbackRejectedError(f"line {number} of the statement: {exc}") from exc
        if not lines[-1].transaction_id:
            raise CallbackRejectedError(f"line {number} of the statement has no transaction id")
    return lines


def reconcile(
    session: Session, actor: Actor, day: date, lines: list[StatementLine]
) -> Reconciliation:
    """Compare the statement's lines of ``day`` with the mobile-money payments and queued
    receipts Kilowatch recorded that day (local calendar), those ``actor`` may see."""
    report = Reconciliation(day)
    theirs = {line.transaction_id: line for line in lines if line.paid_on == day}
    ours: dict[str, int] = {}
    for external_id, amount, status in session.execute(
        select(Payment.external_id, Payment.amount, Payment.status).where(
            Payment.channel == Channel.MOBILE_MONEY.value,
            Payment.value_date == day,
            visible(actor, Payment),
        )
    ):
        if external_id is not None and status == PaymentStatus.POSTED.value:
            ours[external_id] = int(amount)
    for receipt in session.scalars(
        select(UnmatchedReceipt).where(
            UnmatchedReceipt.channel == Channel.MOBILE_MONEY.value,
            visible(actor, UnmatchedReceipt),
        )
    ):
        if service.local_date(receipt.received_at) == day and receipt.payment_id is None:
            ours[receipt.external_id] = receipt.amount
    for transaction_id, line in sorted(theirs.items()):
        if transaction_id not in ours:
            report.missing_in_kilowatch.append(line)
        elif ours[transaction_id] != line.amount:
            report.amount_differs.append((transaction_id, ours[transaction_id], line.amount))
        else:
            report.matched += 1
    report.missing_in_statement = sorted((t, a) for t, a in ours.items() if t not in theirs)
    return report
