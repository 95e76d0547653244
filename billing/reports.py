"""Billing's reports for the catalogue (core.reports): billing summary by tariff and
category, collection rate, aged debt. Amounts in minor units, one row per currency where
currencies could mix. Registered from kilowatch/reports.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from billing.invoices.models import Invoice
from billing.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction
from billing.payments.models import PaymentAllocation, ReceivableItem
from core.context import Actor
from core.reports.catalogue import Column, ReportFilters, ReportTable
from customers.models import Account


def billing_summary(session: Session, actor: Actor, filters: ReportFilters) -> ReportTable:
    """Documents issued in the period (issue date), by tariff and usage category: bills,
    credit notes, billed kWh (credit notes negative), net, taxes and total."""
    bill = Invoice.kind == "invoice"
    sign = case((bill, 1), else_=-1)
    query = (
        select(
            Invoice.tariff_code,
            Invoice.category,
            Invoice.currency,
            func.count().filter(bill),
            func.count().filter(~bill),
            func.sum(Invoice.kwh * sign),
            func.sum(Invoice.net),
            func.sum(Invoice.taxes),
            func.sum(Invoice.total),
        )
        .where(
            Invoice.issue_date >= filters.period.start,
            Invoice.issue_date < filters.period.end,
            filters.where(actor, Invoice),
        )
        .group_by(Invoice.tariff_code, Invoice.category, Invoice.currency)
        .order_by(Invoice.tariff_code, Invoice.category, Invoice.currency)
    )
    if filters.category:
        query = query.where(Invoice.category == filters.category)
    rows = [
        {
            "tariff": tariff,
            "category": category,
            "currency": currency,
            "bills": bills,
            "credit_notes": credits,
            "kwh": kwh,
            "net": int(net),
            "taxes": int(taxes),
            "total": int(total),
        }
        for tariff, category, currency, bills, credits, kwh, net, taxes, total in session.execute(
            query
        )
    ]
    return ReportTable(
        columns=[
            Column("tariff", "Tariff"),
            Column("category", "Category"),
            Column("currency", "Currency"),
            Column("bills", "Bills", "int", total=True),
            Column("credit_notes", "Credit notes", "int", total=True),
            Column("kwh", "kWh billed", "decimal", total=True),
            Column("net", "Net", "money", total=True),
            Column("taxes", "Taxes", "money", total=True),
            Column("total", "Total", "money", total=True),
        ],
        rows=rows,
        chart_x="tariff",
        chart_y=["total"],
    )


def _receivable(kinds: tuple[str, ...], filters: ReportFilters, actor: Actor) -> Select[Any]:
    """Receivable postings of ``kinds`` entered in the period (by entry date), by currency."""
    return (
        select(LedgerTransaction.currency, func.coalesce(func.sum(LedgerPosting.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .join(Account, Account.id == LedgerPosting.customer_account_id)
        .where(
            LedgerAccount.code == "receivable",
            LedgerTransaction.kind.in_(kinds),
            LedgerTransaction.entry_date >= filters.period.start,
            LedgerTransaction.entry_date < filters.period.end,
            filters.where(actor, Account),
        )
        .group_by(LedgerTransaction.currency)
    )


def collection_rate(session: Session, actor: Actor, filters: ReportFilters) -> ReportTable:
    """From the ledger: what was billed in the period (bills less credit notes posted to
    receivables) and what was collected (payments credited to receivables, reversals
    netted), and their ratio in percent. Category does not apply (a payment settles an
    account, not a category)."""
    billed = dict(session.execute(_receivable(("invoice", "credit_note"), filters, actor)).all())
    paid = dict(session.execute(_receivable(("payment",), filters, actor)).all())
    rows = []
    for currency in sorted(set(billed) | set(paid)):
        b, c = int(billed.get(currency, 0)), -int(paid.get(currency, 0))
        rate = round(100 * c / b, 2) if b else None
        rows.append({"currency": currency, "billed": b, "collected": c, "rate": rate})
    return ReportTable(
        columns=[
            Column("currency", "Currency"),
            Column("billed", "Billed", "money", total=True),
            Column("collected", "Collected", "money", total=True),
            Column("rate", "Collection rate (%)", "percent"),
        ],
        rows=rows,
        chart_x="currency",
        chart_y=["billed", "collected"],
    )


BUCKETS = (
    ("not_due", None, 0),
    ("d0_30", 0, 30),
    ("d31_60", 30, 60),
    ("d61_90", 60, 90),
    ("d90_plus", 90, None),
)


def aged_debt(session: Session, actor: Actor, filters: ReportFilters) -> ReportTable:
    """What is still open on the receivable items (amount less active allocations), on the
    period's last day, by days past due: not due, 1-30, 31-60, 61-90, over 90. Items
    created by the period's end and not closed (credited) now; allocations as they stand
    now (the report answers "of what was owed then, what is still unpaid")."""
    as_of: date = filters.period.last_day
    allocated = (
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .where(
            PaymentAllocation.item_id == ReceivableItem.id, PaymentAllocation.released_at.is_(None)
        )
        .scalar_subquery()
    )
    open_amount = ReceivableItem.amount - allocated
    late = as_of - ReceivableItem.due_date
    columns = [ReceivableItem.currency]
    for key, low, high in BUCKETS:
        condition = (
            late <= 0 if low is None else and_(late > low, late <= high) if high else late > low
        )
        columns.append(
            func.coalesce(func.sum(case((condition, open_amount), else_=0)), 0).label(key)
        )
    query = (
        select(*columns, func.count().filter(open_amount > 0))
        .where(
            ReceivableItem.closed_at.is_(None),
            ReceivableItem.created_at < filters.period.bounds_utc()[1],
            filters.where(actor, ReceivableItem),
        )
        .group_by(ReceivableItem.currency)
        .order_by(ReceivableItem.currency)
    )
    rows = []
    for currency, *amounts, items in session.execute(query):
        row = {"currency": currency, "open_items": items}
        row.update({key: int(a) for (key, _l, _h), a in zip(BUCKETS, amounts, strict=True)})
        row["total"] = sum(int(a) for a in amounts)
        rows.append(row)
    return ReportTable(
        columns=[
            Column("currency", "Currency"),
            Column("open_items", "Open items", "int", total=True),
            Column("not_due", "Not due", "money", total=True),
            Column("d0_30", "1-30 days", "money", total=True),
            Column("d31_60", "31-60 days", "money", total=True),
            Column("d61_90", "61-90 days", "money", total=True),
            Column("d90_plus", "Over 90 days", "money", total=True),
            Column("total", "Total open", "money", total=True),
        ],
        rows=rows,
        chart_x="currency",
        chart_y=["not_due", "d0_30", "d31_60", "d61_90", "d90_plus"],
        notes=[f"As of {as_of.isoformat()}"],
    )
