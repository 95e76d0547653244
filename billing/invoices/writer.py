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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import psycopg
from sqlalchemy.orm import Session

from billing.invoices.enums import InvoiceKind, InvoiceReason
from billing.invoices.errors import InvoicePeriodBilledError
from billing.invoices.events import InvoicesIssued
from billing.invoices.numbering import company_series, draw_many, number_of, payment_reference
from billing.invoices.postings import RECEIVABLE, Chart, posting_amounts
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


Series = str | Mapping[InvoiceKind, str]


@dataclass
class Prepared:
    """Drafts made ready to issue: ids drawn, every row built but the few fields that
    carry the document's number. Numbering locks the series' counter row until the
    transaction ends, so it comes last (``issue``): two workers issuing chunks of a run
    overlap everything but the COPY itself."""

    drafts: Sequence[Draft]
    series: list[str]  # per draft
    ids: list[int]
    txn_ids: list[int | None]
    actor_name: str
    _posting_rows: list[str]
    _line_rows: list[str]
    # Per draft: the invoice row before its seq, between its number and its payment
    # reference, and after it; the transaction row after its source and memo.
    _heads: list[str]
    _middles: list[str]
    _tails: list[str]
    _txn_heads: list[str]
    _txn_tails: list[str]

    def issue(self, session: Session) -> list[Written]:
        """Number the documents (one statement: every series of the call, their counter
        rows locked in series order), COPY them and post them to the ledger."""
        if not self.drafts:
            return []
        firsts = draw_many(session, Counter(self.series))
        taken: dict[str, int] = {}
        txn_rows, invoice_rows, written = [], [], []
        for index, draft in enumerate(self.drafts):
            series = self.series[index]
            seq = firsts[series] + taken.get(series, 0)
            taken[series] = taken.get(series, 0) + 1
            number = number_of(series, seq)
            number_t = _t(number)
            txn = self.txn_ids[index]
            if txn is not None:
                memo = _t(f"{draft.reason.value} {number}")
                txn_rows.append(
                    f"{self._txn_heads[index]}{number_t}\t{memo}{self._txn_tails[index]}"
                )
            reference = _t(payment_reference(draft.account_number, series, seq))
            invoice_rows.append(
                f"{self._heads[index]}{seq}\t{number_t}\t{self._middles[index]}"
                f"{reference}{self._tails[index]}"
            )
            written.append(Written(self.ids[index], number, txn))
        try:
            if txn_rows:
                _copy_rows(session, "billing_ledger_transaction", TRANSACTION_COLUMNS, txn_rows)
                _copy_rows(session, "billing_ledger_posting", POSTING_COLUMNS, self._posting_rows)
            _copy_rows(session, "billing_invoice", INVOICE_COLUMNS, invoice_rows)
            if self._line_rows:
                _copy_rows(session, "billing_invoice_line", LINE_COLUMNS, self._line_rows)
        except psycopg.errors.ExclusionViolation as exc:
            raise InvoicePeriodBilledError(
                "a usage point already has an issued bill for a day of this period"
            ) from exc
        # After commit, the accounts' credit pays their new bills (kilowatch.handlers).
        emit(
            session,
            InvoicesIssued(
                account_ids=sorted({d.account_id for d in self.drafts}),
                run_id=self.drafts[0].run_id,
            ),
        )
        return written


def _series_of(series: Series, draft: Draft) -> str:
    return series if isinstance(series, str) else series[draft.kind]


def _own_series(session: Session, series: Series, drafts: Sequence[Draft]) -> list[str]:
    """Each draft's series: the one asked for, or, for a draft rated under another
    company's tariff, that company's series of the same kind (``company_series``): each
    company numbers its own documents. One look-up per distinct series and tariff."""
    found: dict[tuple[str, str], str] = {}
    own = []
    for draft in drafts:
        key = (_series_of(series, draft), draft.tariff_code)
        if key not in found:
            found[key] = company_series(session, *key)
        own.append(found[key])
    return own


def prepare(
    session: Session,
    actor: Actor,
    drafts: Sequence[Draft],
    *,
    series: Series,
    issue_date: date,
    due_date: date,
) -> Prepared:
    """Draw the ids of ``drafts`` (documents and ledger transactions: sequences, no lock)
    and build their rows; ``Prepared.issue`` numbers and writes them. ``series``: one for
    every draft, or one per kind of document."""
    chart = Chart.load(session) if drafts else Chart({})
    ids = [int(i) for i in next_values(session, INVOICE_IDS, len(drafts))]
    shared = _Shared(chart)
    postings = [shared.postings(d) for d in drafts]
    posted = [i for i, amounts in enumerate(postings) if len(amounts) >= 2]
    drawn = iter(int(t) for t in next_values(session, TRANSACTION_IDS, len(posted)))
    posted_set = set(posted)
    txn_ids = [next(drawn) if i in posted_set else None for i in range(len(drafts))]
    # Rows in COPY's text format, built directly: what every row of a call shares is
    # formatted once (the documents' values are the ones the columns would hold).
    day_t, due_t = _t(issue_date), _t(due_date)
    by_t, by_id_t = _t(actor.username), _t(actor.user_id)
    prepared = Prepared(
        drafts=drafts,
        series=_own_series(session, series, drafts),
        ids=ids,
        txn_ids=txn_ids,
        actor_name=actor.username,
        _posting_rows=[],
        _line_rows=[],
        _heads=[],
        _middles=[],
        _tails=[],
        _txn_heads=[],
        _txn_tails=[],
    )
    for index, draft in enumerate(drafts):
        invoice_id = ids[index]
        txn = txn_ids[index]
        kind_t, currency_t = _t(draft.kind.value), _t(draft.currency)
        if txn is not None:
            prepared._txn_heads.append(f"{txn}\t{day_t}\t{kind_t}\t{currency_t}\t")
            prepared._txn_tails.append(f"\t{by_id_t}")
            customer_t = str(draft.account_id)
            for code, amount in postings[index].items():
                customer = customer_t if code == RECEIVABLE else TEXT_NULL
                prepared._posting_rows.append(f"{txn}\t{chart.ids[code]}\t{customer}\t{amount}")
        else:
            prepared._txn_heads.append("")
            prepared._txn_tails.append("")
        prepared._heads.append(f"{invoice_id}\t{_t(prepared.series[index])}\t")
        prepared._middles.append(
            "\t".join(
                (
                    kind_t,
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
                    currency_t,
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
                    "",
                )
            )
        )
        prepared._tails.append(f"\t{_t(txn)}\t{_t(draft.note)}\t{by_t}\t{by_id_t}")
        prefix = f"{invoice_id}\t"
        prepared._line_rows.extend(prefix + row for row in shared.line_rows(draft.lines))
    return prepared


def write(
    session: Session,
    actor: Actor,
    drafts: Sequence[Draft],
    *,
    series: Series,
    issue_date: date,
    due_date: date,
) -> list[Written]:
    """Issue ``drafts`` (numbers in the drafts' order within each series) and post each
    to the ledger; returns them in the same order."""
    if not drafts:
        return []
    prepared = prepare(
        session, actor, drafts, series=series, issue_date=issue_date, due_date=due_date
    )
    return prepared.issue(session)
