"""Prepaid vending: an amount of money turned into energy through the tariff engine.

The month's bill of a prepaid customer is the pure rating function over the month's total
kWh: a purchase buys the largest number of kWh (in steps of the tariff's kWh rounding) whose
bill for the month, on top of what the month's earlier purchases bought, costs no more than
the amount: ``rate(before + x) - rate(before) <= amount``. So the first purchase of the month
pays the fixed charges, later ones do not, and blocks count across the month's purchases.
What the energy does not use stays as the account's credit. The charge is posted like a
bill (receivable debit; revenue and taxes credit, per line, as billing posts invoices) and
opened as an item the purchase's payment pays at once.

Tokens come from a pluggable ``TokenGenerator``: ``TestTokenGenerator`` here (documented, NOT
an STS token: meters do not accept it); a vendor's STS security module plugs in behind the
same interface.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from billing.invoices.postings import Chart, posting_amounts
from billing.invoices.repository import Billable, billable
from billing.invoices.service import rate_for
from billing.ledger import service as ledger
from billing.ledger.models import TransactionKind
from billing.payments import service
from billing.payments.allocation import lock_account, release_item
from billing.payments.enums import Channel, Instrument, ItemKind
from billing.payments.errors import PaymentInvalidError
from billing.payments.models import PrepaidVend, ReceivableItem
from billing.payments.schemas import PaymentCreate
from billing.tariffs import repository as tariffs
from core.context import Actor
from core.errors import ReferenceUnknownError
from core.periods import Period
from core.territory import visible
from customers.models import Contract

REGISTER = "total"


class TokenGenerator(Protocol):
    """Makes the 20-digit token a meter accepts for ``kwh`` (an STS module, a vendor API)."""

    def token(self, *, meter_serial: str, kwh: Decimal, sequence: int) -> str: ...


@dataclass(frozen=True)
class TestTokenGenerator:
    """Deterministic 20-digit tokens for tests and demos: the first 20 decimal digits of
    HMAC-SHA256(key, "serial|kWh|sequence"). Not STS (IEC 62055-41): a real meter rejects
    them; they only prove the plumbing (one token per vend, reproducible)."""

    key: bytes = b"kilowatch-test-token-key"

    def token(self, *, meter_serial: str, kwh: Decimal, sequence: int) -> str:
        message = f"{meter_serial}|{kwh.normalize()}|{sequence}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        return str(int.from_bytes(digest, "big") % 10**20).zfill(20)


@dataclass(frozen=True)
class Quote:
    """What an amount buys this month: the kWh, their price and its lines (the month's bill
    after the purchase less the bill before it)."""

    kwh: Decimal
    charged: int
    lines: list[tuple[str, str, int]]  # (kind, component, amount) of the charge


def _month_of(day: date) -> Period:
    start = day.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return Period(start, end)


def _lines(bill) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    out: dict[tuple[str, str], int] = {}
    for line in bill.lines:
        key = (line.kind.value, line.component)
        out[key] = out.get(key, 0) + line.amount
    return out


def quote(session: Session, who: Billable, month: Period, before: Decimal, amount: int) -> Quote:
    """The most kWh ``amount`` buys on top of ``before`` kWh bought this month."""

    def bill(kwh: Decimal):  # type: ignore[no-untyped-def]
        return rate_for(session, who, month, {REGISTER: kwh})

    versions = tariffs.versions_for(session, who.contract.tariff_code, month)
    # Sold in the steps the bill counts kWh in (the version closing the month).
    step = versions.at(month.end - timedelta(days=1)).definition.kwh_rounding.step
    paid_before = bill(before).total if before > 0 else 0
    low, high = 0, 1
    while bill(before + step * high).total - paid_before <= amount:
        low, high = high, high * 2
        if high > 10**7:
            raise PaymentInvalidError("the amount buys more energy than a meter takes")
    while high - low > 1:  # the bill is monotone in kWh: bisect the largest affordable step
        middle = (low + high) // 2
        if bill(before + step * middle).total - paid_before <= amount:
            low = middle
        else:
            high = middle
    if low == 0:
        raise PaymentInvalidError(f"{amount} buys no energy (the month's charges come first)")
    after = bill(before + step * low)
    earlier = _lines(bill(before)) if before > 0 else {}
    delta = [
        (kind, component, value - earlier.get((kind, component), 0))
        for (kind, component), value in _lines(after).items()
        if value != earlier.get((kind, component), 0)
    ]
    return Quote(step * low, after.total - paid_before, delta)


def vend(
    session: Session,
    actor: Actor,
    *,
    contract_id: int,
    meter_serial: str,
    amount: int,
    instrument: Instrument = Instrument.CASH,
    at: datetime | None = None,
    generator: TokenGenerator | None = None,
) -> PrepaidVend:
    """Sell ``amount`` of energy: the payment, the charge (posted, opened, paid at once),
    the token. Purchases of one meter are serialised by the account's allocation lock."""
    if not contract_seen(session, actor, contract_id):
        raise ReferenceUnknownError(f"no contract {contract_id}")
    who = billable(session, contract_id)
    at = at or datetime.now(UTC)
    month = _month_of(service.local_date(at))
    lock_account(session, who.account.id)
    before = Decimal(
        session.scalar(
            select(func.coalesce(func.sum(PrepaidVend.kwh), 0)).where(
                PrepaidVend.meter_serial == meter_serial,
                PrepaidVend.month == month.start,
                PrepaidVend.status == "vended",
            )
        )
        or 0
    )
    offer = quote(session, who, month, before, amount)
    payment = service.record_payment(
        session,
        actor,
        data=PaymentCreate(
            customer_account_id=who.account.id,
            amount=amount,
            currency=tariffs.versions_for(session, who.contract.tariff_code, month).currency,
            channel=Channel.DESK,
            instrument=instrument,
            received_at=at,
            reference=f"prepaid {meter_serial}",
        ),
        allocate=False,
    )
    sequence = int(session.scalar(select(func.count()).select_from(PrepaidVend)) or 0) + 1
    ref = f"VEND {payment.number}"
    amounts = posting_amounts(Chart.load(session), offer.charged, offer.lines)
    txn = ledger.post(
        session,
        actor,
        kind=TransactionKind.INVOICE,
        entry_date=service.local_date(at),
        currency=payment.currency,
        source_ref=ref,
        memo=f"prepaid {offer.kwh} kWh for meter {meter_serial}",
        lines=[
            ledger.Line(code, value, who.account.id if code == "receivable" else None)
            for code, value in amounts.items()
        ],
    )
    item = service.open_item(
        session,
        actor,
        customer_account_id=who.account.id,
        kind=ItemKind.PRINCIPAL,
        document_ref=ref,
        due_date=service.local_date(at),
        amount=offer.charged,
        currency=payment.currency,
        ledger_transaction_id=txn.id,
    )
    sold = PrepaidVend(
        customer_account_id=who.account.id,
        contract_id=contract_id,
        meter_serial=meter_serial,
        month=month.start,
        amount=amount,
        charged=offer.charged,
        currency=payment.currency,
        kwh=offer.kwh,
        month_kwh_before=before,
        token=(generator or TestTokenGenerator()).token(
            meter_serial=meter_serial, kwh=offer.kwh, sequence=sequence
        ),
        lines=[{"kind": k, "component": c, "amount": a} for k, c, a in offer.lines],
        payment_id=payment.id,
        item_id=item.id,
        ledger_transaction_id=txn.id,
    )
    session.add(sold)
    session.flush()
    return sold


def reverse_vend(session: Session, actor: Actor, sold: PrepaidVend, *, reason: str) -> PrepaidVend:
    """A vend that failed (the token never reached the meter): its charge is reversed and
    its item closed, so the money is the account's credit again (the next purchase, or a
    refund, uses it); the month's kWh no longer count it."""
    if sold.status != "vended":
        raise PaymentInvalidError("this vend is already reversed")
    ledger.reverse(
        session, actor, sold.ledger_transaction_id, entry_date=service.local_date(datetime.now(UTC))
    )
    item = session.get(ReceivableItem, sold.item_id)
    assert item is not None  # a foreign key
    release_item(session, actor, item, reason=f"vend reversed: {reason}")
    sold.status = "reversed"
    session.flush()
    return sold


def history(session: Session, meter_serial: str) -> Sequence[PrepaidVend]:
    return list(
        session.scalars(
            select(PrepaidVend)
            .where(PrepaidVend.meter_serial == meter_serial)
            .order_by(PrepaidVend.vended_at, PrepaidVend.id)
        )
    )


def vends_of_contract(session: Session, actor: Actor, contract_id: int) -> list[PrepaidVend]:
    """The purchases made under a contract, newest first (its meters' history)."""
    return list(
        session.scalars(
            select(PrepaidVend)
            .where(PrepaidVend.contract_id == contract_id, visible(actor, PrepaidVend))
            .order_by(PrepaidVend.vended_at.desc(), PrepaidVend.id.desc())
        )
    )


def get_vend(session: Session, actor: Actor, vend_id: int) -> PrepaidVend | None:
    return session.scalars(
        select(PrepaidVend).where(PrepaidVend.id == vend_id, visible(actor, PrepaidVend))
    ).one_or_none()


def contract_seen(session: Session, actor: Actor, contract_id: int) -> bool:
    found = session.scalar(
        select(Contract.id).where(Contract.id == contract_id, visible(actor, Contract))
    )
    return found is not None


def history_seen(session: Session, actor: Actor, meter_serial: str) -> list[PrepaidVend]:
    """A meter's purchases, newest first, those of accounts ``actor`` may see."""
    return list(
        session.scalars(
            select(PrepaidVend)
            .where(PrepaidVend.meter_serial == meter_serial, visible(actor, PrepaidVend))
            .order_by(PrepaidVend.vended_at.desc(), PrepaidVend.id.desc())
        )
    )


_CONTRACT_OF_METER = text(
    """
    SELECT c.id FROM meter_asset m
    JOIN meter_installation i ON i.meter_id = m.id AND i.removed_at IS NULL
    JOIN customer_contract c ON c.usage_point_id = i.usage_point_id AND c.status = 'active'
    WHERE m.serial = :serial
    ORDER BY c.start_date DESC, c.id DESC LIMIT 1
    """
)


def contract_of_meter(session: Session, actor: Actor, meter_serial: str) -> int | None:
    """The active contract of the usage point where the meter is installed (the desk
    sells by meter number), None when there is none the actor may see."""
    found = session.scalar(_CONTRACT_OF_METER, {"serial": meter_serial})
    if found is None or not contract_seen(session, actor, int(found)):
        return None
    return int(found)
