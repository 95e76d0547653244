"""Issuing documents outside a billing run: a bill for a contract and period, a credit
note, a re-bill, the true-up of an estimated bill, the final bill of a contract that ended.

Rules (stated once, tested in tests/billing):

- **Corrections** never edit an invoice: a credit note cancels it whole (its lines with
  opposite amounts, numbered in the credit-note series, posted as the mirror transaction)
  and a re-bill issues the corrected bill over the same period.
- **True-up** of an estimated bill: when actual reads have replaced the estimate of the
  bill's period (meters marks the estimate ``superseded``), the estimated bill is credited
  in full and re-billed on the actual consumption (reason ``true_up``): credit + re-bill,
  not a delta invoice, so each period is carried by exactly one issued bill whose lines
  are the tariff's lines for the real consumption.
- **Final bill**: once a contract has ended (move-out, transfer, termination), its last
  bill runs from the end of its last issued bill (or its start) to its ``end_date``, on
  the reads up to and including the move-out day's final reading.

Services flush, never commit; every document goes through ``billing.invoices.writer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoices import repository
from billing.invoices.enums import DEFAULT_SERIES, InvoiceKind, InvoiceReason, InvoiceStatus
from billing.invoices.errors import (
    FinalBillNotReadyError,
    InvoiceAlreadyCreditedError,
    InvoiceNotEstimatedError,
    InvoicePeriodBilledError,
    InvoiceUsageInvalidError,
    TrueUpNotReadyError,
)
from billing.invoices.models import Invoice
from billing.invoices.repository import Billable
from billing.invoices.writer import Draft, write
from billing.tariffs import repository as tariffs
from billing.tariffs.definition import LineKind
from billing.tariffs.errors import UsageInvalidError
from billing.tariffs.rating import Bill, BillableUsage, BillLine, rate
from core.context import Actor
from core.periods import Period, local_date
from core.territory import require_visible
from customers.errors import ContractNotFoundError
from customers.models import Account, Contract

DUE_DAYS = 15
ENDED_STATUSES = ("ended", "terminated", "transferred")


def _today() -> date:
    from datetime import UTC, datetime

    return local_date(datetime.now(UTC))


def rate_for(session: Session, who: Billable, period: Period, kwh: Mapping[str, Decimal]) -> Bill:
    """The contract's bill for ``period`` and ``kwh``: the tariff versions in force and
    the pure rating function, as every run does."""
    usage = BillableUsage(
        period=period,
        kwh=dict(kwh),
        category=who.usage_point.category,
        connection_type=who.connection_type,
        subscribed_kva=who.subscribed_kva,
    )
    try:
        return rate(tariffs.versions_for(session, who.contract.tariff_code, period), usage)
    except UsageInvalidError as exc:
        raise InvoiceUsageInvalidError(exc.detail, errors=exc.errors) from exc


def issue_bill(
    session: Session,
    actor: Actor,
    *,
    contract_id: int,
    period: Period,
    kwh: Mapping[str, Decimal],
    reason: InvoiceReason,
    estimated: bool = False,
    replaces_invoice_id: int | None = None,
    issue_date: date | None = None,
    note: str = "",
) -> Invoice:
    """Rate and issue one bill of ``contract_id`` for ``period`` (refused with
    ``invoice_period_billed`` when an issued bill of the usage point shares a day)."""
    draft = _bill_draft(
        session,
        actor,
        contract_id=contract_id,
        period=period,
        kwh=kwh,
        reason=reason,
        estimated=estimated,
        replaces_invoice_id=replaces_invoice_id,
        note=note,
    )
    return _issue(session, actor, draft, issue_date)


def _bill_draft(
    session: Session,
    actor: Actor,
    *,
    contract_id: int,
    period: Period,
    kwh: Mapping[str, Decimal],
    reason: InvoiceReason,
    estimated: bool,
    replaces_invoice_id: int | None,
    note: str,
) -> Draft:
    """``issue_bill``'s checks and rating: the draft it issues."""
    require_visible(session, actor, Contract, contract_id, "contract")
    who = repository.billable(session, contract_id)
    if repository.issued_overlapping(session, who.usage_point.id, period) is not None:
        raise InvoicePeriodBilledError(
            f"usage point {who.usage_point.code} already has an issued bill in "
            f"{period.start} .. {period.end}"
        )
    bill = rate_for(session, who, period, kwh)
    return Draft.of_bill(
        bill,
        reason=reason,
        account_id=who.account.id,
        account_number=who.account.number,
        usage_point_id=who.usage_point.id,
        contract_id=who.contract.id,
        category=who.usage_point.category,
        connection_type=who.connection_type,
        subscribed_kva=who.subscribed_kva,
        estimated=estimated,
        replaces_invoice_id=replaces_invoice_id,
        note=note,
    )


def _issue(session: Session, actor: Actor, draft: Draft, issue_date: date | None) -> Invoice:
    [invoice] = _issue_all(session, actor, [draft], issue_date)
    return invoice


def _issue_all(
    session: Session, actor: Actor, drafts: list[Draft], issue_date: date | None
) -> list[Invoice]:
    """Issue ``drafts`` in one writer call (each in its kind's series); the documents in
    the same order, read back in one query."""
    day = issue_date or _today()
    written = write(
        session,
        actor,
        drafts,
        series=DEFAULT_SERIES,
        issue_date=day,
        due_date=day + timedelta(days=DUE_DAYS),
    )
    found = {
        invoice.id: invoice
        for invoice in session.scalars(
            select(Invoice).where(Invoice.id.in_([w.id for w in written]))
        )
    }
    return [found[w.id] for w in written]


def _mirror(session: Session, invoice: Invoice, note: str) -> Draft:
    """The credit note of ``invoice``: its stored lines with opposite amounts."""
    lines = [
        BillLine(
            kind=LineKind(line.kind),
            component=line.component,
            label=line.label,
            start=line.start_date,
            end=line.end_date,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            amount=-line.amount,
            tax_base=None if line.tax_base is None else -line.tax_base,
            block=line.block,
        )
        for line in repository.lines_of(session, invoice.id)
    ]
    account = session.get(Account, invoice.account_id)
    assert account is not None
    return Draft(
        kind=InvoiceKind.CREDIT_NOTE,
        reason=InvoiceReason.CORRECTION,
        account_id=invoice.account_id,
        account_number=account.number,
        usage_point_id=invoice.usage_point_id,
        contract_id=invoice.contract_id,
        period=Period(invoice.period_start, invoice.period_end),
        currency=invoice.currency,
        tariff_code=invoice.tariff_code,
        category=invoice.category,
        connection_type=invoice.connection_type,
        subscribed_kva=invoice.subscribed_kva,
        consumption={r: -Decimal(v) for r, v in invoice.consumption.items()},
        estimated=invoice.estimated,
        lines=lines,
        net=-invoice.net,
        taxes=-invoice.taxes,
        rounding=-invoice.rounding,
        total=-invoice.total,
        run_id=None,
        credits_invoice_id=invoice.id,
        note=note,
    )


def credit(
    session: Session, actor: Actor, *, invoice_id: int, note: str, issue_date: date | None = None
) -> Invoice:
    """Cancel an issued bill with a credit note (its whole amount); the bill's period is
    free to be billed again."""
    invoice = repository.get_invoice(session, actor, invoice_id, lock=True)
    return _credit(session, actor, invoice, note, issue_date)


def _credit(
    session: Session, actor: Actor, invoice: Invoice, note: str, issue_date: date | None
) -> Invoice:
    """``credit`` of an invoice already read and locked."""
    return _issue(session, actor, _credit_draft(session, invoice, note), issue_date)


def _credit_draft(session: Session, invoice: Invoice, note: str) -> Draft:
    """The credit note of an invoice already read and locked, the invoice marked credited."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceAlreadyCreditedError(
            f"{invoice.number} is {'a credit note' if invoice.kind != 'invoice' else 'credited'}"
        )
    draft = _mirror(session, invoice, note)
    # The status change is the one update an issued bill allows (migration 0013); it
    # takes the bill out of the exclusion constraint, so a re-bill can follow.
    invoice.status = InvoiceStatus.CREDITED
    session.flush()
    return draft


def rebill(
    session: Session,
    actor: Actor,
    *,
    invoice_id: int,
    kwh: Mapping[str, Decimal] | None,
    note: str,
    reason: InvoiceReason = InvoiceReason.REBILL,
    estimated: bool = False,
    issue_date: date | None = None,
) -> tuple[Invoice, Invoice]:
    """A correction: credit the bill, then bill its period again on ``kwh`` (or, when
    None, on the consumption the meters give now). Returns (credit note, new bill)."""
    original = repository.get_invoice(session, actor, invoice_id, lock=True)
    if kwh is None:
        found = _measured_for(session, original)
        if found is None:
            raise TrueUpNotReadyError(f"no consumption measured for {original.number}'s period")
        kwh, estimated = found.kwh, found.estimated
    period = Period(original.period_start, original.period_end)
    note_ = note or f"replaces {original.number}"
    # ``original`` is read and locked already: credit it without reading it again, then
    # write the credit note and the new bill together (one writer call, one settlement).
    credit_draft = _credit_draft(session, original, note_)
    bill_draft = _bill_draft(
        session,
        actor,
        contract_id=original.contract_id,
        period=period,
        kwh=kwh,
        reason=reason,
        estimated=estimated,
        replaces_invoice_id=original.id,
        note=note_,
    )
    credit_note, bill = _issue_all(session, actor, [credit_draft, bill_draft], issue_date)
    return credit_note, bill


def _measured_for(session: Session, invoice: Invoice) -> repository.Measured | None:
    contract = session.get(Contract, invoice.contract_id)
    assert contract is not None
    period = Period(invoice.period_start, invoice.period_end)
    days = bill_window(contract, period, final=invoice.reason == InvoiceReason.FINAL)
    return repository.measured(session, [invoice.usage_point_id], days).get(invoice.usage_point_id)


def bill_window(contract: Contract, period: Period, *, final: bool = False) -> Period:
    """The days whose reads make a bill of ``contract`` over ``period`` (see
    ``repository.window``): a contract that follows another does not count its opening
    read; a final bill counts the move-out day's."""
    opening = not (
        contract.previous_contract_id is not None and period.start == contract.start_date
    )
    return repository.window(period, opening_day=opening, closing_day=final)


def true_up(
    session: Session, actor: Actor, *, invoice_id: int, issue_date: date | None = None
) -> tuple[Invoice, Invoice]:
    """Replace an estimated bill by the bill of the actual consumption (credit note +
    re-bill, reason ``true_up``) once actual reads have replaced the estimate."""
    original = repository.get_invoice(session, actor, invoice_id)
    if not original.estimated or original.kind != InvoiceKind.INVOICE:
        raise InvoiceNotEstimatedError(f"{original.number} was not rated on an estimate")
    found = _measured_for(session, original)
    if found is None or found.estimated:
        raise TrueUpNotReadyError(
            f"the estimate of {original.number}'s period has not been replaced by a read yet"
        )
    return rebill(
        session,
        actor,
        invoice_id=invoice_id,
        kwh=found.kwh,
        note=f"true-up of estimated {original.number}",
        reason=InvoiceReason.TRUE_UP,
        issue_date=issue_date,
    )


def final_bill(
    session: Session, actor: Actor, *, contract_id: int, issue_date: date | None = None
) -> Invoice:
    """The last bill of an ended contract: from the end of its last issued bill (or its
    start) to its end date, on the reads up to the move-out day's final reading."""
    require_visible(session, actor, Contract, contract_id, "contract")
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise ContractNotFoundError(f"no contract {contract_id}")
    if contract.status not in ENDED_STATUSES or contract.end_date is None:
        raise FinalBillNotReadyError(f"contract {contract.number} has not ended")
    start = repository.billed_until(session, contract.usage_point_id, contract.id)
    start = max(start or contract.start_date, contract.start_date)
    if start >= contract.end_date:
        raise FinalBillNotReadyError(f"contract {contract.number} is billed to its end")
    period = Period(start, contract.end_date)
    days = bill_window(contract, period, final=True)
    found = repository.measured(session, [contract.usage_point_id], days).get(
        contract.usage_point_id
    )
    if found is None or found.intervals == 0:
        raise FinalBillNotReadyError(
            f"no reading of contract {contract.number}'s usage point closes its final period"
        )
    return issue_bill(
        session,
        actor,
        contract_id=contract_id,
        period=period,
        kwh=found.kwh,
        reason=InvoiceReason.FINAL,
        estimated=found.estimated,
        issue_date=issue_date,
        note=f"final bill of contract {contract.number}",
    )


def final_bill_if_ready(session: Session, actor: Actor, *, contract_id: int) -> Invoice | None:
    """``final_bill`` when the final reading is in, else None (a later call retries)."""
    try:
        with session.begin_nested():
            return final_bill(session, actor, contract_id=contract_id)
    except FinalBillNotReadyError:
        return None


def pending_final_bills(session: Session) -> list[int]:
    """Ended contracts not billed to their end date yet (for a periodic sweep)."""
    billed = (
        select(Invoice.id)
        .where(
            Invoice.contract_id == Contract.id,
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.reason != InvoiceReason.BACK_BILLING,
            Invoice.period_end >= Contract.end_date,
        )
        .exists()
    )
    return list(
        session.scalars(
            select(Contract.id).where(
                Contract.status.in_(ENDED_STATUSES), Contract.end_date.is_not(None), ~billed
            )
        )
    )


def issue_back_bill(
    session: Session,
    actor: Actor,
    *,
    contract_id: int,
    period: Period,
    billed_kwh: Decimal,
    unbilled_kwh: Decimal,
    penalty: int,
    note: str,
    issue_date: date | None = None,
) -> Invoice:
    """The back-bill of an NTL case (reason ``back_billing``): the energy the meter did
    not record over ``period``, priced at the margin of the contract's tariff (the
    energy lines of the period rated on ``billed_kwh + unbilled_kwh`` less those rated
    on ``billed_kwh``, so the blocks already used by the bills are not sold twice; the
    fixed charges were billed already), plus ``penalty`` (minor units) as a surcharge.
    Untaxed. It lies over months already billed, so it stays out of the no-overlap rule
    and of "billed until" (the cycle carries on)."""
    require_visible(session, actor, Contract, contract_id, "contract")
    who = repository.billable(session, contract_id)
    full = rate_for(session, who, period, {"total": billed_kwh + unbilled_kwh})
    base = rate_for(session, who, period, {"total": billed_kwh})
    energy = sum(x.amount for x in full.lines_of(LineKind.ENERGY)) - sum(
        x.amount for x in base.lines_of(LineKind.ENERGY)
    )
    lines = [
        BillLine(
            kind=LineKind.ENERGY,
            component="back_billing",
            label=f"unbilled energy assessed: {unbilled_kwh} kWh",
            start=period.start,
            end=period.end,
            quantity=unbilled_kwh,
            unit="kWh",
            unit_price=(Decimal(energy) / unbilled_kwh).quantize(Decimal("0.0001"))
            if unbilled_kwh
            else None,
            amount=energy,
        )
    ]
    if penalty:
        lines.append(
            BillLine(
                kind=LineKind.SURCHARGE,
                component="ntl_penalty",
                label="penalty (regulator's order)",
                start=period.start,
                end=period.end,
                quantity=Decimal(1),
                unit="",
                unit_price=Decimal(penalty),
                amount=penalty,
            )
        )
    total = energy + penalty
    draft = Draft(
        kind=InvoiceKind.INVOICE,
        reason=InvoiceReason.BACK_BILLING,
        account_id=who.account.id,
        account_number=who.account.number,
        usage_point_id=who.usage_point.id,
        contract_id=who.contract.id,
        period=period,
        currency=full.currency,
        tariff_code=full.tariff_code,
        category=who.usage_point.category,
        connection_type=who.connection_type,
        subscribed_kva=who.subscribed_kva,
        consumption={"total": unbilled_kwh},
        estimated=True,
        lines=lines,
        net=total,
        taxes=0,
        rounding=0,
        total=total,
        note=note,
    )
    return _issue(session, actor, draft, issue_date)
