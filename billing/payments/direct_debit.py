"""SEPA direct debit: mandates, and the pain.008 batch that collects what they cover.

A mandate is taken with its reference, signature date, debtor and bank account (IBAN and
BIC checked with schwifty); its first collection is sent as FRST, the next ones as RCUR.
``make_batch`` looks at every active mandate the caller may see, works out what each
account owes by the collection date (its open items due by then, less its credit), and
writes one pain.008.001.02 file (sepaxml, validated against the XSD it ships). Each debit is
posted at once as a payment (channel ``direct_debit``, the end-to-end id as transaction id,
so never twice) and allocated by the one allocator; a return (``direct_debit_returns``)
reverses it.

SEPA amounts carry two decimals: a currency with fewer (XOF) is written in whole units
with ``.00`` (``_cents``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaDD
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments import repository, service
from billing.payments.enums import Channel, Instrument
from billing.payments.errors import (
    DirectDebitBatchEmptyError,
    DirectDebitBatchNotFoundError,
    MandateConflictError,
    MandateInvalidError,
    MandateNotFoundError,
    PaymentInvalidError,
)
from billing.payments.models import (
    DirectDebitBatch,
    DirectDebitCollection,
    DirectDebitMandate,
)
from billing.payments.schemas import MandateCreate, PaymentCreate
from core.context import Actor
from core.errors import FieldError
from core.flush import by_constraint, flush_guarded
from core.money import minor_exponent
from core.settings import get_settings
from core.territory import OutsideTerritoryError, Scope, agency_allowed, visible

FIRST, RECURRING = "FRST", "RCUR"
PAIN008 = "pain.008.001.02"

_MANDATE_TAKEN = by_constraint(
    {
        "uq_billing_dd_mandate_reference": lambda: MandateConflictError(
            "a mandate with this reference already exists"
        ),
        "uq_billing_dd_mandate_active_account": lambda: MandateConflictError(
            "this account already has an active mandate: revoke it first"
        ),
    }
)


def checked_bank_account(iban: str, bic: str | None) -> tuple[str, str]:
    """The IBAN and BIC in their compact form, or ``mandate_invalid`` saying which is
    wrong. With no BIC given, the one schwifty knows for the IBAN's bank."""
    try:
        account = IBAN(iban)
    except SchwiftyException as exc:
        raise MandateInvalidError(f"IBAN {iban!r}: {exc}") from exc
    if bic:
        try:
            code = BIC(bic)
        except SchwiftyException as exc:
            raise MandateInvalidError(f"BIC {bic!r}: {exc}") from exc
    else:
        code = account.bic  # type: ignore[assignment]
        if code is None:
            raise MandateInvalidError("no BIC given and none is known for this IBAN's bank")
    if code.country_code != account.country_code and account.country_code not in ("MC", "SM"):
        # A BIC names a bank of a country; SEPA accepts the IBAN's own country's banks.
        raise MandateInvalidError(f"BIC {code.compact} is not a bank of {account.country_code}")
    return account.compact, str(code.compact)


def create_mandate(session: Session, actor: Actor, *, data: MandateCreate) -> DirectDebitMandate:
    service.require_account(session, actor, data.customer_account_id)
    if data.signed_on > service.local_date(datetime.now(UTC)):
        raise MandateInvalidError("a mandate cannot be signed in the future")
    iban, bic = checked_bank_account(data.iban, data.bic)
    mandate = DirectDebitMandate(
        customer_account_id=data.customer_account_id,
        reference=data.reference.strip(),
        signed_on=data.signed_on,
        debtor_name=data.debtor_name.strip(),
        iban=iban,
        bic=bic,
        sequence=RECURRING if data.recurring else FIRST,
        created_by=actor.user_id,
    )
    flush_guarded(session, _MANDATE_TAKEN, lambda: session.add(mandate))
    return mandate


def mandate_seen(session: Session, actor: Actor, mandate_id: int) -> DirectDebitMandate:
    found = session.scalars(
        select(DirectDebitMandate).where(
            DirectDebitMandate.id == mandate_id, visible(actor, DirectDebitMandate)
        )
    ).one_or_none()
    if found is None:
        raise MandateNotFoundError(f"no mandate {mandate_id}")
    return found


def mandates(
    session: Session,
    actor: Actor,
    *,
    customer_account_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[DirectDebitMandate]:
    query = select(DirectDebitMandate).where(visible(actor, DirectDebitMandate))
    if customer_account_id is not None:
        query = query.where(DirectDebitMandate.customer_account_id == customer_account_id)
    query = query.order_by(DirectDebitMandate.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def revoke(session: Session, actor: Actor, mandate: DirectDebitMandate, *, reason: str) -> None:
    """No more collections under this mandate (the customer withdrew it, or the bank said
    the account is closed or the mandate unknown)."""
    if mandate.status == "revoked":
        raise MandateConflictError(f"mandate {mandate.reference} is already revoked")
    mandate.status = "revoked"
    mandate.revoked_at = datetime.now(UTC)
    mandate.revoke_reason = reason
    session.flush()


@dataclass(frozen=True)
class _Due:
    mandate: DirectDebitMandate
    amount: int


def _owed(session: Session, found: list[DirectDebitMandate], on: date, currency: str) -> list[_Due]:
    """What each mandated account owes on ``on``: open items due by then less its credit."""
    ids = [m.customer_account_id for m in found]
    items = repository.open_items_by_account(session, ids)
    credits = repository.credits_by_account(session, ids)
    due = []
    for mandate in found:
        owed = sum(
            i.open_amount
            for i in items.get(mandate.customer_account_id, [])
            if i.currency == currency and i.due_date <= on
        )
        owed -= sum(
            c.remaining
            for c in credits.get(mandate.customer_account_id, [])
            if c.currency == currency
        )
        if owed > 0:
            due.append(_Due(mandate, owed))
    return due


def _cents(amount: int, currency: str) -> int:
    """Minor units as the hundredths sepaxml writes (XOF 1500 -> 150000 -> "1500.00")."""
    return int(amount * 10 ** (2 - minor_exponent(currency)))


def pain008(
    batch_ref: str, collection_date: date, currency: str, debits: list[tuple[_Due, str, str]]
) -> bytes:
    """The pain.008.001.02 file (validated by sepaxml against its XSD when written)."""
    settings = get_settings()
    creditor_iban, creditor_bic = settings.utility_bank_account, settings.utility_bic
    if not creditor_iban or not creditor_bic:
        raise MandateInvalidError(
            "set KILOWATCH_UTILITY_BANK_ACCOUNT and KILOWATCH_UTILITY_BIC to collect"
        )
    creditor_iban, creditor_bic = checked_bank_account(creditor_iban, creditor_bic)
    sepa = SepaDD(
        {
            "name": settings.utility_name[:70],
            "IBAN": creditor_iban,
            "BIC": creditor_bic,
            "batch": True,
            "creditor_id": settings.sepa_creditor_id,
            "currency": currency,
        },
        schema=PAIN008,
    )
    for due, end_to_end, sequence in debits:
        sepa.add_payment(
            {
                "name": due.mandate.debtor_name,
                "IBAN": due.mandate.iban,
                "BIC": due.mandate.bic,
                "amount": _cents(due.amount, currency),
                "type": sequence,
                "collection_date": collection_date,
                "mandate_id": due.mandate.reference,
                "mandate_date": due.mandate.signed_on,
                "description": f"{settings.utility_name} {batch_ref}"[:140],
                "endtoend_id": end_to_end,
            }
        )
    return bytes(sepa.export(validate=True))


def make_batch(
    session: Session,
    actor: Actor,
    *,
    collection_date: date,
    currency: str | None = None,
    agency_id: int | None = None,
) -> DirectDebitBatch:
    """Collect the debt due by ``collection_date`` of every active mandate the caller sees
    (of ``agency_id``'s territory when given; staff of an agency collect their own): the
    pain.008 file, a collection and a posted payment per debit. Nothing owed:
    ``direct_debit_batch_empty``."""
    currency = service.currency_of(currency)
    if not actor.sees_all_territories:
        if agency_id is not None and not agency_allowed(session, actor, agency_id):
            raise OutsideTerritoryError("you collect for your own agency only")
        agency_id = agency_id or actor.territory_agency_id
        if agency_id is None:  # a company's head office collects for one agency at a time
            raise PaymentInvalidError(
                "name the agency to collect for (one of your company's)",
                errors=[FieldError("agency_id", "required", "agency_required")],
            )
    query = select(DirectDebitMandate).where(
        DirectDebitMandate.status == "active", visible(actor, DirectDebitMandate)
    )
    if agency_id is not None:
        query = query.where(DirectDebitMandate.__territory__(Scope(agency_id)))
    found = list(session.scalars(query.order_by(DirectDebitMandate.id).with_for_update()))
    dues = _owed(session, found, collection_date, currency)
    if not dues:
        raise DirectDebitBatchEmptyError(f"nothing to collect on {collection_date}")
    seq = session.scalar(select(DirectDebitBatch.id).order_by(DirectDebitBatch.id.desc()).limit(1))
    batch_ref = f"DD{collection_date:%Y%m%d}-{(seq or 0) + 1:05d}"
    debits = [(d, f"{batch_ref}-{n:05d}", d.mandate.sequence) for n, d in enumerate(dues, 1)]
    xml = pain008(batch_ref, collection_date, currency, debits)
    batch = DirectDebitBatch(
        message_id=batch_ref,
        agency_id=agency_id,
        collection_date=collection_date,
        currency=currency,
        count=len(debits),
        total=sum(d.amount for d in dues),
        xml=xml.decode(),
        created_by=actor.user_id,
    )
    session.add(batch)
    session.flush()
    received = datetime.now(UTC)
    for due, end_to_end, sequence in debits:
        payment = service.record_payment(
            session,
            actor,
            data=PaymentCreate(
                customer_account_id=due.mandate.customer_account_id,
                amount=due.amount,
                currency=currency,
                channel=Channel.DIRECT_DEBIT,
                instrument=Instrument.DIRECT_DEBIT,
                external_id=end_to_end,
                received_at=received,
                value_date=collection_date,
                reference=due.mandate.reference,
                payer_name=due.mandate.debtor_name,
            ),
        )
        session.add(
            DirectDebitCollection(
                batch_id=batch.id,
                mandate_id=due.mandate.id,
                customer_account_id=due.mandate.customer_account_id,
                end_to_end_id=end_to_end,
                sequence=sequence,
                amount=due.amount,
                payment_id=payment.id,
            )
        )
        due.mandate.sequence = RECURRING
    session.flush()
    return batch


def batch_seen(session: Session, actor: Actor, batch_id: int) -> DirectDebitBatch:
    found = session.scalars(
        select(DirectDebitBatch).where(
            DirectDebitBatch.id == batch_id, visible(actor, DirectDebitBatch)
        )
    ).one_or_none()
    if found is None:
        raise DirectDebitBatchNotFoundError(f"no direct-debit batch {batch_id}")
    return found


def batches(
    session: Session, actor: Actor, *, limit: int = 100, offset: int = 0
) -> list[DirectDebitBatch]:
    return list(
        session.scalars(
            select(DirectDebitBatch)
            .where(visible(actor, DirectDebitBatch))
            .order_by(DirectDebitBatch.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def collections_of(session: Session, batch: DirectDebitBatch) -> list[DirectDebitCollection]:
    return list(
        session.scalars(
            select(DirectDebitCollection)
            .where(DirectDebitCollection.batch_id == batch.id)
            .order_by(DirectDebitCollection.id)
        )
    )


def mandate_of(session: Session, mandate_id: int) -> DirectDebitMandate:
    return session.get_one(DirectDebitMandate, mandate_id)
