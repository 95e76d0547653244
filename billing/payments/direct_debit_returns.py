"""Returned direct debits (SEPA R-transactions): the bank's file names each debit it could
not collect by its end-to-end id, with an ISO reason code. Each return reverses the debit's
payment (the items it paid are owed again, exactly, item by item), charges the return fee
(a receivable fee item, ``settings.direct_debit_return_fee``) and, when the code says the
account or the mandate is no more, revokes the mandate. A return already recorded is
skipped, so the same file imported twice changes nothing.

Two file formats are read:

- **pain.002** (customer payment status report): every ``TxInfAndSts`` with ``TxSts``
  ``RJCT`` gives ``OrgnlEndToEndId`` and ``StsRsnInf/Rsn/Cd``, dated by ``GrpHdr/CreDtTm``;
- **CSV** (UTF-8, a header line, comma-separated): ``end_to_end_id,reason_code`` and an
  optional ``return_date`` (ISO date), for banks that send a spreadsheet instead.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments import direct_debit, service
from billing.payments.enums import ItemKind
from billing.payments.errors import DirectDebitReturnInvalidError
from billing.payments.models import DirectDebitBatch, DirectDebitCollection, Payment
from billing.payments.schemas import ReceivableItemCreate
from core.context import Actor
from core.settings import get_settings
from core.territory import visible

RETURN_BYTES_MAX = 5 * 1024 * 1024

# The SEPA reason codes a bank returns (EPC guidance), and whether they end the mandate.
REASONS: dict[str, tuple[str, bool]] = {
    "AC01": ("account identifier incorrect", True),
    "AC04": ("account closed", True),
    "AC06": ("account blocked", False),
    "AC13": ("debtor account is a consumer account", False),
    "AG01": ("transaction forbidden on this account", True),
    "AG02": ("invalid bank operation code", False),
    "AM04": ("insufficient funds", False),
    "AM05": ("duplicate collection", False),
    "BE05": ("unknown creditor", False),
    "CNOR": ("creditor bank not registered", False),
    "DNOR": ("debtor bank not registered", False),
    "FF01": ("invalid file format", False),
    "MD01": ("no mandate", True),
    "MD02": ("mandate data missing or incorrect", False),
    "MD06": ("refund requested by the debtor", False),
    "MD07": ("debtor deceased", True),
    "MS02": ("refused by the debtor", False),
    "MS03": ("reason not specified", False),
    "RC01": ("BIC incorrect", False),
    "RR01": ("regulatory reason: debtor account or identification missing", False),
    "RR02": ("regulatory reason: debtor name or address missing", False),
    "RR03": ("regulatory reason: creditor name or address missing", False),
    "RR04": ("regulatory reason", False),
    "SL01": ("specific service offered by the debtor bank", False),
}


@dataclass(frozen=True)
class Return:
    end_to_end_id: str
    reason_code: str
    on: date | None = None


@dataclass
class ReturnReport:
    returned: list[str] = field(default_factory=list)  # end-to-end ids reversed now
    already: list[str] = field(default_factory=list)  # returned before: nothing done
    revoked_mandates: list[str] = field(default_factory=list)
    fees: int = 0  # total of the return fees charged


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse(content: bytes) -> list[Return]:
    """The returns a pain.002 or the documented CSV lists (``direct_debit_return_invalid``
    when neither)."""
    text = content.lstrip()
    if text.startswith(b"<"):
        return _parse_pain002(text)
    return _parse_csv(content)


def _parse_pain002(content: bytes) -> list[Return]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise DirectDebitReturnInvalidError(f"not XML: {exc}") from exc
    found = []
    on = _report_date(root)
    for tx in root.iter():
        if _local(tx.tag) != "TxInfAndSts":
            continue
        values: dict[str, str] = {}
        for child in tx.iter():
            name = _local(child.tag)
            if name in ("OrgnlEndToEndId", "TxSts", "Cd") and name not in values:
                values[name] = (child.text or "").strip()
        if values.get("TxSts", "RJCT") != "RJCT":
            continue
        if not values.get("OrgnlEndToEndId") or not values.get("Cd"):
            raise DirectDebitReturnInvalidError("a rejected transaction without its id or code")
        found.append(Return(values["OrgnlEndToEndId"], values["Cd"], on))
    if not found and _local(root.tag) != "Document":
        raise DirectDebitReturnInvalidError("not a pain.002 status report")
    return found


def _report_date(root: etree._Element) -> date | None:
    """The day the bank made the report (``GrpHdr/CreDtTm``): the returns' date."""
    for node in root.iter():
        if _local(node.tag) == "CreDtTm" and node.text:
            try:
                return date.fromisoformat(node.text.strip()[:10])
            except ValueError:
                return None
    return None


def _parse_csv(content: bytes) -> list[Return]:
    try:
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DirectDebitReturnInvalidError(f"not a CSV of returns: {exc}") from exc
    found = []
    for line, row in enumerate(rows, 2):
        end_to_end = (row.get("end_to_end_id") or "").strip()
        code = (row.get("reason_code") or "").strip()
        if not end_to_end or not code:
            raise DirectDebitReturnInvalidError(
                f"line {line}: end_to_end_id and reason_code are required"
            )
        day = (row.get("return_date") or "").strip()
        try:
            on = date.fromisoformat(day) if day else None
        except ValueError as exc:
            raise DirectDebitReturnInvalidError(f"line {line}: return_date {day!r}") from exc
        found.append(Return(end_to_end, code))
        if on is not None:
            found[-1] = Return(end_to_end, code, on)
    return found


def import_returns(session: Session, actor: Actor, content: bytes) -> ReturnReport:
    """Record every return of the file (all or nothing: an unknown end-to-end id or reason
    code refuses the whole file before anything is written)."""
    returns = parse(content)
    if not returns:
        raise DirectDebitReturnInvalidError("the file lists no returned debit")
    for r in returns:
        if r.reason_code not in REASONS:
            raise DirectDebitReturnInvalidError(f"unknown SEPA reason code {r.reason_code!r}")
    ids = [r.end_to_end_id for r in returns]
    found = {
        c.end_to_end_id: c
        for c in session.scalars(
            select(DirectDebitCollection)
            .where(
                DirectDebitCollection.end_to_end_id.in_(ids),
                visible(actor, DirectDebitCollection),
            )
            .with_for_update()
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise DirectDebitReturnInvalidError(f"no direct debit {', '.join(missing[:5])}")
    report = ReturnReport()
    for r in returns:
        collection = found[r.end_to_end_id]
        if collection.status == "returned":
            report.already.append(r.end_to_end_id)
            continue
        _return(session, actor, collection, r, report)
    return report


def _return(
    session: Session,
    actor: Actor,
    collection: DirectDebitCollection,
    r: Return,
    report: ReturnReport,
) -> None:
    label, ends_mandate = REASONS[r.reason_code]
    day = r.on or service.local_date(datetime.now(UTC))
    payment = session.get_one(Payment, collection.payment_id)
    service.reverse_payment(
        session,
        actor,
        payment,
        reason=f"direct debit returned: {r.reason_code} {label}",
        on=day,
    )
    collection.status = "returned"
    collection.return_reason = r.reason_code
    collection.returned_at = datetime.now(UTC)
    batch = session.get_one(DirectDebitBatch, collection.batch_id)
    batch.returned += 1
    mandate = direct_debit.mandate_of(session, collection.mandate_id)
    if collection.sequence == direct_debit.FIRST and mandate.status == "active":
        mandate.sequence = direct_debit.FIRST  # the first debit never arrived
    if ends_mandate and mandate.status == "active":
        direct_debit.revoke(session, actor, mandate, reason=f"return {r.reason_code}: {label}")
        report.revoked_mandates.append(mandate.reference)
    fee = get_settings().direct_debit_return_fee
    if fee > 0:
        item = service.charge(
            session,
            actor,
            data=ReceivableItemCreate(
                customer_account_id=collection.customer_account_id,
                kind=ItemKind.FEE,
                document_ref=f"DDRETURN {collection.end_to_end_id}",
                due_date=day,
                amount=fee,
                currency=payment.currency,
                memo=f"returned direct debit {collection.end_to_end_id} ({r.reason_code})",
            ),
        )
        collection.fee_item_id = item.id
        report.fees += fee
    session.flush()
    report.returned.append(r.end_to_end_id)
