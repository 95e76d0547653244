"""Writing issued documents, one or a hundred thousand at a time, the same way.

``write`` numbers the drafts (one counter-row UPDATE per call), draws their ids ahead and
sends invoices, lines, ledger transactions and postings with COPY (core.bulk): a billing
run's chunk and a single re-bill go through this one path, so what a run issues and what
a desk issues cannot differ. Runs in the caller's transaction; the database's triggers
(balance at commit, no numbering gap, immutability) and the exclusion constraint on
issued periods hold whatever the path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import psycopg
from sqlalchemy.orm import Session

from billing.invoices.enums import InvoiceKind, InvoiceReason
from billing.invoices.errors import InvoicePeriodBilledError
from billing.invoices.numbering import draw, number_of, payment_reference
from billing.invoices.postings import Chart, posting_amounts
from billing.tariffs.rating import Bill, BillLine
from core.bulk import copy_columns, next_values, text_values
from core.context import Actor
from core.periods import Period

# The id sequences of the documents and of the ledger's transactions (migrations 0013,
# 0010): named here so that issuing one bill does not look them up each time.
INVOICE_IDS = "billing_invoice_id_seq"
TRANSACTION_IDS = "billing_ledger_transaction_id_seq"


@dataclass(frozen=True)
class Draft:
    """A document about to be issued: what was rated (or mirrored) and for whom."""

    kind: InvoiceKind
    reason: InvoiceReason
    account_id: int
    account_number: str
    usage_point_id: int
    contract_id: int
    period: Period
    currency: str
    tariff_code: str
    category: str
    connection_type: str
    subscribed_kva: Decimal | None
    consumption: Mapping[str, Decimal]
    estimated: bool
    lines: Sequence[BillLine]
    net: int
    taxes: int
    rounding: int
    total: int
    run_id: int | None = None
    credits_invoice_id: int | None = None
    replaces_invoice_id: int | None = None
    note: str = ""

    @property
    def kwh(self) -> Decimal:
        return sum(self.consumption.values(), Decimal(0))

    @classmethod
    def of_bill(
        cls,
        bill: Bill,
        *,
        reason: InvoiceReason,
        account_id: int,
        account_number: str,
        usage_point_id: int,
        contract_id: int,
        category: str,
        connection_type: str,
        subscribed_kva: Decimal | None,
        estimated: bool = False,
        run_id: int | None = None,
        replaces_invoice_id: int | None = None,
        note: str = "",
    ) -> Draft:
        """A bill as rated by ``billing.tariffs.rating.rate``: its lines, unchanged."""
        return cls(
            kind=InvoiceKind.INVOICE,
            reason=reason,
            account_id=account_id,
            account_number=account_number,
            usage_point_id=usage_point_id,
            contract_id=contract_id,
            period=bill.period,
            currency=bill.currency,
            tariff_code=bill.tariff_code,
            category=category,
            connection_type=connection_type,
            subscribed_kva=subscribed_kva,
            consumption=dict(bill.kwh),
            estimated=estimated,
            lines=bill.lines,
            net=bill.net,
            taxes=bill.taxes,
            rounding=bill.rounding,
            total=bill.total,
            run_id=run_id,
            replaces_invoice_id=replaces_invoice_id,
            note=note,
        )


@dataclass(frozen=True)
class Written:
    """An issued document: its id, number and ledger transaction (None: nothing to post,
    a total of zero)."""

    id: int
    number: str
    ledger_transaction_id: int | None


@dataclass
class _Columns:
    """Columns of one table in COPY's text format."""

    values: dict[str, list[object]] = field(default_factory=dict)

    def add(self, **row: object) -> None:
        for name, value in row.items():
            self.values.setdefault(name, []).append(value)

    def text(self) -> dict[str, list[str]]:
        return {name: text_values(column) for name, column in self.values.items()}


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def write(
    session: Session,
    actor: Actor,
    drafts: Sequence[Draft],
    *,
    series: str,
    issue_date: date,
    due_date: date,
) -> list[Written]:
    """Issue ``drafts`` in ``series`` (numbers in the drafts' order) and post each to the
    ledger; returns them in the same order."""
    if not drafts:
        return []
    chart = Chart.load(session)
    ids = next_values(session, INVOICE_IDS, len(drafts))
    first = draw(session, series, len(drafts))
    postings: list[dict[str, int]] = [
        posting_amounts(chart, d.total, ((ln.kind, ln.component, ln.amount) for ln in d.lines))
        for d in drafts
    ]
    posted = [i for i, amounts in enumerate(postings) if len(amounts) >= 2]
    txn_ids = dict(zip(posted, next_values(session, TRANSACTION_IDS, len(posted)), strict=True))
    txns, lines_out, invoices, ledger = _Columns(), _Columns(), _Columns(), _Columns()
    written = []
    for index, draft in enumerate(drafts):
        seq = first + index
        number = number_of(series, seq)
        invoice_id = int(ids[index])
        txn = int(txn_ids[index]) if index in txn_ids else None
        if txn is not None:
            txns.add(
                id=txn,
                entry_date=issue_date,
                kind=draft.kind.value,
                currency=draft.currency,
                source_ref=number,
                memo=f"{draft.reason.value} {number}",
                created_by=actor.user_id,
            )
            for code, amount in postings[index].items():
                ledger.add(
                    transaction_id=txn,
                    account_id=chart.ids[code],
                    customer_account_id=draft.account_id if code == "receivable" else None,
                    amount=amount,
                )
        invoices.add(
            id=invoice_id,
            series=series,
            seq=seq,
            number=number,
            kind=draft.kind.value,
            status="issued",
            reason=draft.reason.value,
            account_id=draft.account_id,
            usage_point_id=draft.usage_point_id,
            contract_id=draft.contract_id,
            run_id=draft.run_id,
            period_start=draft.period.start,
            period_end=draft.period.end,
            issue_date=issue_date,
            due_date=due_date,
            currency=draft.currency,
            tariff_code=draft.tariff_code,
            category=draft.category,
            connection_type=draft.connection_type,
            subscribed_kva=_num(draft.subscribed_kva),
            consumption=json.dumps({r: _num(v) for r, v in sorted(draft.consumption.items())}),
            kwh=_num(draft.kwh),
            estimated="t" if draft.estimated else "f",
            net=draft.net,
            taxes=draft.taxes,
            rounding=draft.rounding,
            total=draft.total,
            credits_invoice_id=draft.credits_invoice_id,
            replaces_invoice_id=draft.replaces_invoice_id,
            payment_reference=payment_reference(draft.account_number, series, seq),
            ledger_transaction_id=txn,
            note=draft.note,
            issued_by=actor.username,
            issued_by_id=actor.user_id,
        )
        for position, line in enumerate(draft.lines, start=1):
            lines_out.add(
                invoice_id=invoice_id,
                position=position,
                kind=line.kind.value,
                component=line.component,
                label=line.label,
                start_date=line.start,
                end_date=line.end,
                quantity=_num(line.quantity),
                unit=line.unit,
                unit_price=_num(line.unit_price),
                amount=line.amount,
                tax_base=line.tax_base,
                block=line.block,
            )
        written.append(Written(invoice_id, number, txn))
    try:
        if txns.values:
            copy_columns(session, "billing_ledger_transaction", txns.text())
            copy_columns(session, "billing_ledger_posting", ledger.text())
        copy_columns(session, "billing_invoice", invoices.text())
        if lines_out.values:
            copy_columns(session, "billing_invoice_line", lines_out.text())
    except psycopg.errors.ExclusionViolation as exc:
        raise InvoicePeriodBilledError(
            "a usage point already has an issued bill for a day of this period"
        ) from exc
    return written
