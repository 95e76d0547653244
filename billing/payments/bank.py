"""Bank statements (ISO 20022 camt.053): every credit entry becomes a payment of the
account it names (RF reference, account number, amount; ``billing.payments.matching``) or
waits in the unmatched queue. A statement is imported once (its account and statement id,
and its file's sha256, are unique); an entry already posted through another statement (an
intraday report, then the day's statement) is counted as a duplicate and posts nothing.
Debit entries (charges, returns) are not payments and are left to the accountant."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from pycamt.parser import Camt053Parser
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments import matching
from billing.payments.enums import Channel, Instrument
from billing.payments.errors import StatementImportedError, StatementInvalidError
from billing.payments.models import BankStatement, Payment
from core.auth.models import Agency
from core.context import Actor
from core.errors import ReferenceUnknownError
from core.locks import LockSpace, int32_key, xact_lock
from core.money import CurrencyUnknownError, RoundingMode, minor_exponent, to_minor
from core.territory import agency_allowed, scope_of

STATEMENT_BYTES_MAX = 20 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    """One credit of the statement as Kilowatch reads it."""

    external_id: str
    amount: int
    currency: str
    booked_at: datetime
    text: str
    payer_name: str | None
    payer_account: str | None
    raw: dict[str, Any]


@dataclass
class ImportReport:
    statement: BankStatement
    payments: list[Payment] = field(default_factory=list)
    unmatched: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: int = 0  # debits, reversals, entries not booked


def _minor(value: str | None, currency: str | None) -> tuple[int, str]:
    try:
        if value is None or currency is None:
            raise InvalidOperation
        minor_exponent(currency)
        amount = Decimal(value)
    except (InvalidOperation, CurrencyUnknownError) as exc:
        raise StatementInvalidError(f"an entry has the amount {value!r} {currency!r}") from exc
    return to_minor(amount, currency, RoundingMode.HALF_EVEN), currency


def _day(value: str | None) -> datetime:
    try:
        if value and "T" in value:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        day = datetime.fromisoformat(value or "").date()
    except ValueError as exc:
        raise StatementInvalidError(f"an entry has the booking date {value!r}") from exc
    return datetime.combine(day, time(12), tzinfo=UTC)


def parse(content: bytes) -> tuple[str, str, str, list[Entry], int]:
    """(IBAN, statement id, currency, credit entries, entries skipped) of a camt.053."""
    try:
        parser = Camt053Parser(content)
        transactions = parser.get_transactions()
        info = parser.get_statement_info()
        ids = parser.tree.xpath("//*[local-name()='Stmt']/*[local-name()='Id']/text()")
    except Exception as exc:  # lxml and pycamt raise many kinds: all mean "not readable"
        raise StatementInvalidError(f"not a camt.053 statement: {exc}") from exc
    if len(ids) != 1 or not info or not info[0].get("IBAN"):
        raise StatementInvalidError("a file holds one statement with its account's IBAN")
    iban, statement_id = info[0]["IBAN"], str(ids[0]).strip()
    entries: list[Entry] = []
    skipped, seen = 0, set[str]()
    for tx in transactions:
        credit = tx.get("CreditDebitIndicator") == "CRDT"
        booked = tx.get("Status") in (None, "BOOK")
        if not credit or not booked or tx.get("ReversalIndicator") == "true":
            skipped += 1
            continue
        amount, currency = _minor(tx.get("Amount"), tx.get("Currency"))
        reference = tx.get("TransactionID") or tx.get("EndToEndId")
        if not reference:
            raise StatementInvalidError("a credit entry has no bank reference (AcctSvcrRef)")
        external_id = reference if reference not in seen else f"{reference}/{len(seen)}"
        seen.add(external_id)
        # Every unstructured line (the "Full" join) or the structured reference, and any
        # additional remittance text.
        remittance = tx.get("RemittanceInformationFull") or tx.get("RemittanceInformation")
        text = " ".join(
            str(v) for v in (remittance, tx.get("AdditionalRemittanceInformation")) if v
        )
        entries.append(
            Entry(
                external_id=external_id,
                amount=amount,
                currency=currency,
                booked_at=_day(tx.get("BookingDate") or tx.get("ValueDate")),
                text=text,
                payer_name=tx.get("DebtorName"),
                payer_account=tx.get("DebtorIBAN"),
                raw={k: v for k, v in tx.items() if isinstance(v, str)},
            )
        )
    return iban, statement_id, (info[0].get("Currency") or ""), entries, skipped


def import_statement(
    session: Session, actor: Actor, content: bytes, *, agency_id: int | None = None
) -> ImportReport:
    """Import a camt.053: each credit posted once to the account it names, or queued."""
    if len(content) > STATEMENT_BYTES_MAX:
        raise StatementInvalidError("the statement is too large")
    scope = scope_of(actor)
    if agency_id is not None and (
        session.get(Agency, agency_id) is None or not agency_allowed(session, actor, agency_id)
    ):
        raise ReferenceUnknownError(f"no agency {agency_id}")
    if scope is not None and scope.agency_id is not None:
        agency_id = scope.agency_id  # an agency's staff import their agency's account
    elif scope is not None and agency_id is None:
        raise ReferenceUnknownError("name the agency of the statement (one of your company's)")
    digest = hashlib.sha256(content).hexdigest()
    xact_lock(session, LockSpace.BANK_STATEMENT, int32_key(int(digest[:15], 16)))
    iban, statement_id, currency, entries, skipped = parse(content)
    found = session.scalars(
        select(BankStatement).where(
            (BankStatement.sha256 == digest)
            | ((BankStatement.iban == iban) & (BankStatement.statement_id == statement_id))
        )
    ).first()
    if found is not None:
        raise StatementImportedError(
            f"statement {statement_id} of {iban} was imported on {found.imported_at:%Y-%m-%d}"
        )
    statement = BankStatement(
        iban=iban,
        agency_id=agency_id,
        statement_id=statement_id,
        sha256=digest,
        currency=currency or (entries[0].currency if entries else "XXX"),
        entries=len(entries) + skipped,
        imported_by=actor.user_id,
    )
    session.add(statement)
    session.flush()
    report = ImportReport(statement, skipped=skipped)
    for entry in entries:
        if matching.known(session, Channel.BANK, entry.external_id):
            report.duplicates.append(entry.external_id)
            continue
        taken = matching.take(
            session,
            actor,
            matching.Receipt(
                channel=Channel.BANK,
                instrument=Instrument.TRANSFER,
                external_id=entry.external_id,
                amount=entry.amount,
                currency=entry.currency,
                received_at=entry.booked_at,
                text=entry.text,
                payer_name=entry.payer_name,
                payer_account=entry.payer_account,
                raw=entry.raw,
            ),
            agency_id=agency_id,
            statement_id=statement.id,
        )
        if isinstance(taken, Payment):
            report.payments.append(taken)
        else:
            report.unmatched.append(taken.id)
    statement.matched = len(report.payments)
    statement.unmatched = len(report.unmatched)
    statement.duplicates = len(report.duplicates)
    session.flush()
    return report
