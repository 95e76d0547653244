"""Cash desks: a cashier's session per agency and day, takings, the count at closing,
bank deposits of the takings, and cancellations approved by a supervisor.

At most one open session per cashier, agency and day: the database's partial unique index
decides, the service translates. Payments, the count and the closing of one session are
serialised by ``LockSpace.CASH_DESK`` so a payment never slips in while the desk is being
counted. Expected cash = opening float + cash takings (not reversed) - deposits made; the
difference counted - expected is kept on the session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import service as ledger
from billing.ledger.models import TransactionKind
from billing.payments import service
from billing.payments.enums import (
    CancellationStatus,
    Channel,
    Instrument,
    PaymentStatus,
    SessionStatus,
)
from billing.payments.errors import (
    CancellationInvalidError,
    CancellationNotFoundError,
    CashCountInvalidError,
    CashSessionClosedError,
    CashSessionNotFoundError,
    CashSessionNotYoursError,
    CashSessionOpenError,
    DepositInvalidError,
    PaymentInvalidError,
)
from billing.payments.models import CashDeposit, CashDeskSession, Payment, PaymentCancellation
from billing.payments.schemas import PaymentCreate
from core.auth.models import Agency, User
from core.context import Actor
from core.errors import PermissionDeniedError, ReferenceUnknownError
from core.flush import by_constraint, flush_guarded
from core.locks import LockSpace, int32_key, xact_lock
from core.settings import get_settings
from core.territory import agency_allowed, visible

# Notes and coins in circulation, in minor units (what a count may list).
DENOMINATIONS: dict[str, tuple[int, ...]] = {
    "XOF": (10000, 5000, 2000, 1000, 500, 250, 200, 100, 50, 25, 10, 5, 1),
    "XAF": (10000, 5000, 2000, 1000, 500, 100, 50, 25, 10, 5, 2, 1),
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
}

_OPEN = by_constraint(
    {
        "uq_billing_cash_session_open": lambda: CashSessionOpenError(
            "you already have an open session at this agency today: close it first"
        )
    }
)


def _lock(session: Session, cash_session_id: int) -> None:
    xact_lock(session, LockSpace.CASH_DESK, int32_key(cash_session_id))


def get_session(session: Session, actor: Actor, cash_session_id: int) -> CashDeskSession:
    found = session.scalars(
        select(CashDeskSession).where(
            CashDeskSession.id == cash_session_id, visible(actor, CashDeskSession)
        )
    ).one_or_none()
    if found is None:
        raise CashSessionNotFoundError(f"no cash desk session {cash_session_id}")
    return found


def open_session(
    session: Session,
    actor: Actor,
    *,
    agency_id: int | None = None,
    business_date: date | None = None,
    opening_float: int = 0,
    currency: str | None = None,
) -> CashDeskSession:
    """Open the actor's desk at their agency (or ``agency_id`` for unrestricted staff)."""
    if actor.user_id is None:
        raise PermissionDeniedError("a cash desk is opened by a signed-in cashier")
    agency = agency_id or actor.agency_id
    if agency is None:
        raise PaymentInvalidError("name the agency of the desk (you belong to none)")
    if session.get(Agency, agency) is None or not agency_allowed(session, actor, agency):
        raise ReferenceUnknownError(f"no agency {agency}")
    desk = CashDeskSession(
        cashier_id=actor.user_id,
        agency_id=agency,
        business_date=business_date or service.local_date(datetime.now(UTC)),
        currency=currency or get_settings().currency,
        status=SessionStatus.OPEN.value,
        opening_float=opening_float,
    )
    flush_guarded(session, _OPEN, lambda: session.add(desk))
    return desk


def _open_for(session: Session, actor: Actor, cash_session_id: int) -> CashDeskSession:
    desk = get_session(session, actor, cash_session_id)
    _lock(session, desk.id)
    session.refresh(desk)
    if desk.status != SessionStatus.OPEN.value:
        raise CashSessionClosedError(f"cash desk session {desk.id} is closed")
    if desk.cashier_id != actor.user_id:
        raise CashSessionNotYoursError("only the cashier who opened the desk takes payments in it")
    return desk


def take_payment(session: Session, actor: Actor, *, data: PaymentCreate) -> Payment:
    """A payment at the desk: into the cashier's open session, channel ``desk``."""
    if data.cash_session_id is None:
        raise PaymentInvalidError("a desk payment names its cash desk session")
    desk = _open_for(session, actor, data.cash_session_id)
    if data.channel != Channel.DESK:
        raise PaymentInvalidError("payments at a cash desk come through the desk channel")
    currency = data.currency or desk.currency
    if currency != desk.currency:
        raise PaymentInvalidError(f"this desk takes {desk.currency}")
    return service.record_payment(
        session, actor, data=data.model_copy(update={"currency": currency})
    )


@dataclass
class Takings:
    """What a session took, by instrument (posted payments, reversed ones apart)."""

    by_instrument: dict[str, int] = field(default_factory=dict)
    payments: int = 0
    reversed: int = 0
    deposited: int = 0

    @property
    def cash(self) -> int:
        return self.by_instrument.get(Instrument.CASH.value, 0)


def takings(session: Session, cash_session_id: int) -> Takings:
    result = Takings()
    rows = session.execute(
        select(Payment.instrument, Payment.status, func.count(), func.sum(Payment.amount))
        .where(Payment.cash_session_id == cash_session_id)
        .group_by(Payment.instrument, Payment.status)
    )
    for instrument, status, count, total in rows:
        if status == PaymentStatus.POSTED.value:
            result.by_instrument[instrument] = int(total)
            result.payments += int(count)
        else:
            result.reversed += int(count)
    result.deposited = int(
        session.scalar(
            select(func.coalesce(func.sum(CashDeposit.amount), 0)).where(
                CashDeposit.session_id == cash_session_id
            )
        )
        or 0
    )
    return result


def expected_cash(desk: CashDeskSession, taken: Takings) -> int:
    """Cash that should be in the drawer: float + cash takings - what went to the bank."""
    return desk.opening_float + taken.cash - taken.deposited


def close_session(
    session: Session, actor: Actor, cash_session_id: int, *, count: Mapping[int, int]
) -> CashDeskSession:
    """Count the drawer by denomination (minor units -> pieces) and close the session,
    keeping the difference counted - expected (negative: cash missing)."""
    desk = _open_for(session, actor, cash_session_id)
    known = DENOMINATIONS.get(desk.currency)
    for denomination, pieces in count.items():
        if denomination <= 0 or pieces < 0 or (known is not None and denomination not in known):
            raise CashCountInvalidError(
                f"{pieces} x {denomination}: not a {desk.currency} note or coin count"
            )
    counted = sum(d * n for d, n in count.items())
    expected = expected_cash(desk, takings(session, desk.id))
    desk.count = {str(d): n for d, n in sorted(count.items(), reverse=True) if n}
    desk.counted_cash = counted
    desk.expected_cash = expected
    desk.difference = counted - expected
    desk.status = SessionStatus.CLOSED.value
    desk.closed_at = datetime.now(UTC)
    session.flush()
    return desk


def record_deposit(
    session: Session,
    actor: Actor,
    cash_session_id: int,
    *,
    amount: int,
    bank_reference: str,
    deposited_on: date,
) -> CashDeposit:
    """Takings taken to the bank: cash -> bank in the ledger, never more than the session
    took in cash (and has not deposited yet)."""
    desk = get_session(session, actor, cash_session_id)
    _lock(session, desk.id)
    taken = takings(session, desk.id)
    available = taken.cash - taken.deposited
    if amount <= 0 or amount > available:
        raise DepositInvalidError(f"the session has {available} of cash takings to deposit")
    txn = ledger.post(
        session,
        actor,
        kind=TransactionKind.PAYMENT,
        entry_date=deposited_on,
        currency=desk.currency,
        source_ref=f"DEPOSIT {bank_reference}",
        memo=f"cash desk session {desk.id} to the bank",
        lines=[ledger.Line("bank", amount), ledger.Line("cash", -amount)],
    )
    deposit = CashDeposit(
        session_id=desk.id,
        amount=amount,
        bank_reference=bank_reference,
        deposited_on=deposited_on,
        ledger_transaction_id=txn.id,
        created_by=actor.user_id,
    )
    flush_guarded(
        session,
        by_constraint(
            {
                "uq_billing_cash_deposit_bank_reference": lambda: DepositInvalidError(
                    f"deposit slip {bank_reference} is already recorded"
                )
            }
        ),
        lambda: session.add(deposit),
    )
    return deposit


def request_cancellation(
    session: Session, actor: Actor, payment: Payment, *, reason: str
) -> PaymentCancellation:
    """A cashier asks to cancel a desk payment (a wrong account, a wrong amount)."""
    if payment.channel != Channel.DESK.value or payment.status != PaymentStatus.POSTED.value:
        raise CancellationInvalidError("only a posted desk payment is cancelled at the desk")
    existing = session.scalars(
        select(PaymentCancellation).where(PaymentCancellation.payment_id == payment.id)
    ).one_or_none()
    if existing is not None:
        raise CancellationInvalidError(
            f"a cancellation of {payment.number} is already {existing.status}"
        )
    request = PaymentCancellation(
        payment_id=payment.id,
        reason=reason,
        status=CancellationStatus.REQUESTED.value,
        requested_by=actor.user_id,
    )
    session.add(request)
    session.flush()
    return request


def get_cancellation(session: Session, actor: Actor, cancellation_id: int) -> PaymentCancellation:
    found = session.scalars(
        select(PaymentCancellation).where(
            PaymentCancellation.id == cancellation_id, visible(actor, PaymentCancellation)
        )
    ).one_or_none()
    if found is None:
        raise CancellationNotFoundError(f"no cancellation {cancellation_id}")
    return found


def decide_cancellation(
    session: Session, actor: Actor, cancellation: PaymentCancellation, *, approve: bool
) -> PaymentCancellation:
    """A supervisor (never the requester) approves, which reverses the payment, or rejects."""
    if cancellation.status != CancellationStatus.REQUESTED.value:
        raise CancellationInvalidError(f"this cancellation is already {cancellation.status}")
    if actor.user_id is None or actor.user_id == cancellation.requested_by:
        raise CancellationInvalidError("a cancellation is decided by another person")
    cancellation.status = (
        CancellationStatus.APPROVED.value if approve else CancellationStatus.REJECTED.value
    )
    cancellation.decided_by = actor.user_id
    cancellation.decided_at = datetime.now(UTC)
    session.flush()
    if approve:
        payment = session.get(Payment, cancellation.payment_id)
        assert payment is not None  # a foreign key
        service.reverse_payment(session, actor, payment, reason=f"cancelled: {cancellation.reason}")
    return cancellation


@dataclass(frozen=True)
class DeskView:
    """One desk as a supervisor sees it."""

    session: CashDeskSession
    cashier: str
    takings: Takings
    expected_cash: int


def desks(session: Session, actor: Actor, business_date: date) -> list[DeskView]:
    """Every desk of the day the actor may see, open ones first, with takings so far."""
    rows = session.execute(
        select(CashDeskSession, User.username)
        .join(User, User.id == CashDeskSession.cashier_id)
        .where(CashDeskSession.business_date == business_date, visible(actor, CashDeskSession))
        .order_by(CashDeskSession.status.desc(), CashDeskSession.agency_id, User.username)
    )
    views = []
    for desk, cashier in rows:
        taken = takings(session, desk.id)
        views.append(DeskView(desk, cashier, taken, expected_cash(desk, taken)))
    return views
