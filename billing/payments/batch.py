"""Batched posting: many payments (a bank file, an operator's batch, the bench) posted and
allocated set-based, with the same outcome as ``service.record_payment`` one by one.

Per batch: one visibility query, one duplicate query, ids and receipt numbers drawn in
blocks, the ledger transactions, postings and payments sent with COPY, one outbox row per
payment, then the allocation of every account touched (one lock statement, one query of
open items, one of credits, the same pure ``allocation.plan``, one COPY). A transaction id
already posted on its channel is skipped and reported (exactly once); the database keeps
the last word (unique keys, balanced transactions at commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import BigInteger, any_, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from billing.payments import service
from billing.payments.allocation import DEFAULT_POLICY, AllocationPolicy, allocate_accounts
from billing.payments.enums import Instrument, PaymentStatus
from billing.payments.errors import PaymentInvalidError
from billing.payments.events import PaymentPosted
from billing.payments.schemas import PaymentCreate
from core.bulk import copy_columns, next_values, reserve_ids, text_values
from core.context import Actor
from core.errors import ReferenceUnknownError
from core.locks import LockSpace, xact_locks
from core.outbox import emit_many
from core.territory import visible
from customers.models import Account


@dataclass
class BatchReport:
    payment_ids: list[int] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (channel, external id)
    allocations: int = 0


def post_batch(
    session: Session,
    actor: Actor,
    payments: Sequence[PaymentCreate],
    *,
    policy: AllocationPolicy = DEFAULT_POLICY,
) -> BatchReport:
    """Post and allocate ``payments``; refused whole when one names an account the actor
    cannot see (nothing half-written), duplicates of posted transactions skipped."""
    report = BatchReport()
    if not payments:
        return report
    wanted = {p.customer_account_id for p in payments}
    ids = literal(sorted(wanted), ARRAY(BigInteger))  # one array parameter, not an IN list
    seen = set(
        session.scalars(select(Account.id).where(Account.id == any_(ids), visible(actor, Account)))
    )
    if wanted - seen:
        raise ReferenceUnknownError(f"no customer account {min(wanted - seen)}")
    keys = {(p.channel.value, p.external_id) for p in payments if p.external_id is not None}
    if len(keys) != sum(1 for p in payments if p.external_id is not None):
        raise PaymentInvalidError("a transaction id appears twice in the batch")
    posted = set()
    if keys:
        # The keys as two arrays joined to the unique (channel, external_id) index: a
        # 1,000-pair row-value IN list was planned as a scan of every payment.
        channels, external_ids = zip(*sorted(keys), strict=True)
        posted = {
            (str(channel), str(external_id))
            for channel, external_id in session.execute(
                text(
                    "SELECT p.channel, p.external_id FROM billing_payment p "
                    "JOIN unnest(CAST(:channels AS text[]), CAST(:external_ids AS text[])) "
                    "AS k(channel, external_id) "
                    "ON p.channel = k.channel AND p.external_id = k.external_id"
                ),
                {"channels": list(channels), "external_ids": list(external_ids)},
            )
        }
    todo = [p for p in payments if (p.channel.value, p.external_id) not in posted]
    report.duplicates = sorted(k for k in posted if k[1] is not None)
    if not todo:
        return report
    xact_locks(session, LockSpace.PAYMENT_ALLOCATION, sorted({p.customer_account_id for p in todo}))
    chart = {
        str(code): int(id_)
        for code, id_ in session.execute(text("SELECT code, id FROM billing_ledger_account"))
    }
    n = len(todo)
    payment_ids = reserve_ids(session, "billing_payment", n)
    txn_ids = reserve_ids(session, "billing_ledger_transaction", n)
    numbers = next_values(session, "billing_payment_number_seq", n)
    now = datetime.now(UTC)
    txn: dict[str, list[object]] = {k: [] for k in ("id", "entry_date", "kind", "currency",
                                                    "source_ref", "memo", "created_by")}  # fmt: skip
    post: dict[str, list[object]] = {
        k: [] for k in ("transaction_id", "account_id", "customer_account_id", "amount")
    }
    pay: dict[str, list[object]] = {k: [] for k in (
        "id", "number", "customer_account_id", "channel", "instrument", "external_id", "amount",
        "currency", "received_at", "value_date", "status", "cleared", "reference", "payer_name",
        "ledger_transaction_id", "created_by")}  # fmt: skip
    posted_events: list[PaymentPosted] = []
    for p, pid, tid, seq in zip(todo, payment_ids, txn_ids, numbers, strict=True):
        currency = service.currency_of(p.currency)
        received = p.received_at or now
        value_date = p.value_date or service.local_date(received)
        number = f"R{int(seq):09d}"
        for name, value in (("id", int(tid)), ("entry_date", value_date), ("kind", "payment"),
                            ("currency", currency), ("source_ref", number),
                            ("memo", f"{p.channel.value} {p.instrument.value}"),
                            ("created_by", actor.user_id)):  # fmt: skip
            txn[name].append(value)
        clearing = chart[service.CLEARING_ACCOUNT[p.instrument.value]]
        for account, customer, amount in (
            (clearing, None, p.amount),
            (chart["receivable"], p.customer_account_id, -p.amount),
        ):
            post["transaction_id"].append(int(tid))
            post["account_id"].append(account)
            post["customer_account_id"].append(customer)
            post["amount"].append(amount)
        cleared = p.instrument != Instrument.CHEQUE
        row = (int(pid), number, p.customer_account_id, p.channel.value, p.instrument.value,
               p.external_id, p.amount, currency, received, value_date,
               PaymentStatus.POSTED.value, "t" if cleared else "f", p.reference, p.payer_name,
               int(tid), actor.user_id)  # fmt: skip
        for name, value in zip(pay, row, strict=True):
            pay[name].append(value)
        posted_events.append(
            PaymentPosted(
                payment_id=int(pid),
                customer_account_id=p.customer_account_id,
                amount=p.amount,
                currency=currency,
                channel=p.channel.value,
                instrument=p.instrument.value,
                cleared=cleared,
                value_date=value_date,
            )
        )
        report.payment_ids.append(int(pid))
    emit_many(session, posted_events)
    session.flush()  # the ORM's pending rows before COPY on the same connection
    copy_columns(session, "billing_ledger_transaction", {k: text_values(v) for k, v in txn.items()})
    copy_columns(session, "billing_ledger_posting", {k: text_values(v) for k, v in post.items()})
    copy_columns(session, "billing_payment", {k: text_values(v) for k, v in pay.items()})
    report.allocations = allocate_accounts(session, actor, sorted(wanted), policy)
    return report
