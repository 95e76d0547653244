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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import psycopg
from sqlalchemy.orm import Session

from billing.invoices.enums import InvoiceKind, InvoiceReason
from billing.invoices.errors import InvoicePeriodBilledError
from billing.invoices.events import InvoicesIssued
from billing.invoices.numbering import company_series, draw, number_of, payment_reference
from billing.invoices.postings import Chart, posting_amounts
from billing.tariffs.rating import Bill, BillLine
from core.bulk import TEXT_CHUNK_ROWS, TEXT_NULL, copy_in, next_values, text_values
from core.context import Actor
from core.outbox import emit
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


def _t(value: object) -> str:
    """One value in COPY's text format (see core.bulk.text_values), escaping only when
    needed: most of a document's values are digits, dates and codes."""
    if value is None:
        return TEXT_NULL
    s = str(value)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        return text_values([s])[0]
    return s


TRANSACTION_COLUMNS = ("id", "entry_date", "kind", "currency", "source_ref", "memo", "created_by")
POSTING_COLUMNS = ("transaction_id", "account_id", "customer_account_id", "amount")
INVOICE_COLUMNS = (
    "id",
    "series",
    "seq",
    "number",
    "kind",
    "status",
    "reason",
    "account_id",
    "usage_point_id",
    "contract_id",
    "run_id",
    "period_start",
    "period_end",
    "issue_date",
    "due_date",
    "currency",
    "tariff_code",
    "category",
    "connection_type",
    "subscribed_kva",
    "consumption",
    "kwh",
    "estimated",
    "net",
    "taxes",
    "rounding",
    "total",
    "credits_invoice_id",
    "replaces_invoice_id",
    "payment_reference",
    "ledger_transaction_id",
    "note",
    "issued_by",
    "issued_by_id",
)


LINE_COLUMNS = (
    "invoice_id",
    "position",
    "kind",
    "component",
    "label",
    "start_date",
    "end_date",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "tax_base",
    "block",
)


@dataclass
class _Shared:
    """What drafts rated alike share: the rating returns one ``Bill`` (one tuple of lines)
    per distinct input (billing.runs.rater), so a line's COPY text and a bill's postings
    are made once per distinct bill, not once per invoice. Keyed by the lines tuple's
    identity; the tuple is kept, so the key cannot be reused while the cache lives."""

    chart: Chart
    _rows: dict[int, tuple[Sequence[BillLine], list[str]]] = field(default_factory=dict)
    _postings: dict[tuple[int, int], tuple[Sequence[BillLine], dict[str, int]]] = field(
        default_factory=dict
    )
    _consumption: dict[tuple[object, ...], str] = field(default_factory=dict)

    def line_rows(self, lines: Sequence[BillLine]) -> list[str]:
        """The lines in COPY text, every column but the leading invoice id."""
        found = self._rows.get(id(lines))
        if found is None:
            rows = []
            for position, line in enumerate(lines, start=1):
                values = [
                    position,
                    line.kind.value,
                    line.component,
                    line.label,
                    line.start,
                    line.end,
                    _num(line.quantity),
                    line.unit,
                    _num(line.unit_price),
                    line.amount,
                    line.tax_base,
                    line.block,
                ]
                rows.append("\t".join(text_values(values)))
            found = (lines, rows)
            self._rows[id(lines)] = found
        return found[1]

    def consumption(self, draft: Draft) -> str:
        """The draft's kWh per register as stored (JSON of decimal strings)."""
        key = (id(draft.lines), tuple(draft.consumption.items()))
        found = self._consumption.get(key)
        if found is None:
            found = json.dumps({r: _num(v) for r, v in sorted(draft.consumption.items())})
            self._consumption[key] = found
        return found

    def postings(self, draft: Draft) -> dict[str, int]:
        key = (id(draft.lines), draft.total)
        found = self._postings.get(key)
        if found is None:
            amounts = posting_amounts(
                self.chart,
                draft.total,
                ((ln.kind, ln.component, ln.amount) for ln in draft.lines),
            )
            found = (draft.lines, amounts)
            self._postings[key] = found
        return found[1]


def _chunked(rows: list[str]) -> Iterable[str]:
    for start in range(0, len(rows), TEXT_CHUNK_ROWS):
        yield "\n".join(rows[start : start + TEXT_CHUNK_ROWS]) + "\n"


def _copy_rows(session: Session, table: str, columns: Sequence[str], rows: list[str]) -> None:
    copy_in(session, f"{table} ({', '.join(columns)})", _chunked(rows), format="text")


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
    ledger; returns them in the same order. A draft rated under another company's tariff
    is numbered in that company's series of the same kind (``company_series``)."""
    by_tariff = {
        code: company_series(session, series, code) for code in {d.tariff_code for d in drafts}
    }
    groups: dict[str, list[int]] = {}
    for index, draft in enumerate(drafts):
        groups.setdefault(by_tariff[draft.tariff_code], []).append(index)
    if len(groups) <= 1:
        own = next(iter(groups), series)
        return _write(session, actor, drafts, own, issue_date, due_date)
    written: list[Written | None] = [None] * len(drafts)
    for own, indexes in sorted(groups.items()):
        part = _write(session, actor, [drafts[i] for i in indexes], own, issue_date, due_date)
        for i, w in zip(indexes, part, strict=True):
            written[i] = w
    return [w for w in written if w is not None]


def _write(
    session: Session,
    actor: Actor,
    drafts: Sequence[Draft],
    series: str,
    issue_date: date,
    due_date: date,
) -> list[Written]:
    """``write`` of drafts all numbered in ``series``."""
    if not drafts:
        return []
    chart = Chart.load(session)
    ids = next_values(session, INVOICE_IDS, len(drafts))
    first = draw(session, series, len(drafts))
    shared = _Shared(chart)
    postings = [shared.postings(d) for d in drafts]
    posted = [i for i, amounts in enumerate(postings) if len(amounts) >= 2]
    txn_ids = dict(zip(posted, next_values(session, TRANSACTION_IDS, len(posted)), strict=True))
    # Rows in COPY's text format, built directly: what every row of a call shares is
    # formatted once (the documents' values are the ones the columns would hold).
    series_t, day_t, due_t = _t(series), _t(issue_date), _t(due_date)
    by_t, by_id_t = _t(actor.username), _t(actor.user_id)
    txn_rows: list[str] = []
    posting_rows: list[str] = []
    invoice_rows: list[str] = []
    lines_out: list[str] = []
    written = []
    for index, draft in enumerate(drafts):
        seq = first + index
        number = number_of(series, seq)
        number_t = _t(number)
        invoice_id = int(ids[index])
        txn = int(txn_ids[index]) if index in txn_ids else None
        if txn is not None:
            txn_rows.append(
                "\t".join(
                    (
                        str(txn),
                        day_t,
                        _t(draft.kind.value),
                        _t(draft.currency),
                        number_t,
                        _t(f"{draft.reason.value} {number}"),
                        by_id_t,
                    )
                )
            )
            for code, amount in postings[index].items():
                customer = draft.account_id if code == "receivable" else None
                posting_rows.append(f"{txn}\t{chart.ids[code]}\t{_t(customer)}\t{amount}")
        invoice_rows.append(
            "\t".join(
                (
                    str(invoice_id),
                    series_t,
                    str(seq),
                    number_t,
                    _t(draft.kind.value),
                    "issued",
                    _t(draft.reason.value),
                    str(draft.account_id),
                    str(draft.usage_point_id),
                    str(draft.contract_id),
                    _t(draft.run_id),
                    _t(draft.period.start),
                    _t(draft.period.end),
                    day_t,
                    due_t,
                    _t(draft.currency),
                    _t(draft.tariff_code),
                    _t(draft.category),
                    _t(draft.connection_type),
                    _t(_num(draft.subscribed_kva)),
                    _t(shared.consumption(draft)),
                    _t(_num(draft.kwh)),
                    "t" if draft.estimated else "f",
                    str(draft.net),
                    str(draft.taxes),
                    str(draft.rounding),
                    str(draft.total),
                    _t(draft.credits_invoice_id),
                    _t(draft.replaces_invoice_id),
                    _t(payment_reference(draft.account_number, series, seq)),
                    _t(txn),
                    _t(draft.note),
                    by_t,
                    by_id_t,
                )
            )
        )
        prefix = f"{invoice_id}\t"
        lines_out.extend(prefix + row for row in shared.line_rows(draft.lines))
        written.append(Written(invoice_id, number, txn))
    try:
        if txn_rows:
            _copy_rows(session, "billing_ledger_transaction", TRANSACTION_COLUMNS, txn_rows)
            _copy_rows(session, "billing_ledger_posting", POSTING_COLUMNS, posting_rows)
        _copy_rows(session, "billing_invoice", INVOICE_COLUMNS, invoice_rows)
        if lines_out:
            _copy_rows(session, "billing_invoice_line", LINE_COLUMNS, lines_out)
    except psycopg.errors.ExclusionViolation as exc:
        raise InvoicePeriodBilledError(
            "a usage point already has an issued bill for a day of this period"
        ) from exc
    # After commit, the accounts' credit pays their new bills (kilowatch.handlers).
    emit(
        session,
        InvoicesIssued(account_ids=sorted({d.account_id for d in drafts}), run_id=drafts[0].run_id),
    )
    return written
