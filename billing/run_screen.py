"""What the billing-run screen reads: recent runs, and the control report's items with
what a billing officer drills down to (the usage point, the account and its payer, the
invoice once issued). Items outside the caller's territory are not shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.documents.models import PrintBatch
from billing.invoices.models import Invoice
from billing.runs.models import BillingRun, BillingRunItem
from billing.runs.service import get_run
from core.context import Actor
from core.territory import visible
from customers.models import Account, Contract, Party, UsagePoint


def recent_runs(session: Session, actor: Actor, limit: int = 50) -> list[BillingRun]:
    """The latest runs the caller may see, newest first."""
    return list(
        session.scalars(
            select(BillingRun)
            .where(visible(actor, BillingRun))
            .order_by(BillingRun.id.desc())
            .limit(limit)
        )
    )


def control_rows(
    session: Session,
    actor: Actor,
    run_id: int,
    *,
    status: str | None = None,
    check: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the control report (items in id order) with their drill-down targets,
    and how many items match."""
    get_run(session, actor, run_id)  # 404 outside the territory
    where = [BillingRunItem.run_id == run_id, visible(actor, BillingRunItem)]
    if status:
        where.append(BillingRunItem.status == status)
    if check:
        where.append(BillingRunItem.checks.any(check))
    total = session.scalar(select(func.count()).select_from(BillingRunItem).where(*where)) or 0
    rows = session.execute(
        select(
            BillingRunItem.id,
            BillingRunItem.status,
            BillingRunItem.checks,
            BillingRunItem.detail,
            BillingRunItem.kwh,
            BillingRunItem.estimated,
            BillingRunItem.total,
            BillingRunItem.currency,
            BillingRunItem.period_start,
            BillingRunItem.period_end,
            BillingRunItem.usage_point_id,
            UsagePoint.code.label("usage_point_code"),
            Account.id.label("account_id"),
            Account.number.label("account_number"),
            Party.id.label("party_id"),
            Party.display_name.label("party_name"),
            BillingRunItem.invoice_id,
            Invoice.number.label("invoice_number"),
        )
        .join(UsagePoint, UsagePoint.id == BillingRunItem.usage_point_id)
        .outerjoin(Contract, Contract.id == BillingRunItem.contract_id)
        .outerjoin(Account, Account.id == Contract.account_id)
        .outerjoin(Party, Party.id == Contract.holder_party_id)
        .outerjoin(Invoice, Invoice.id == BillingRunItem.invoice_id)
        .where(*where)
        .order_by(BillingRunItem.id)
        .offset(offset)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows], int(total)


def run_invoice_ids(session: Session, actor: Actor, run_id: int) -> list[int]:
    """The invoices a run issued that the caller sees, in number order."""
    return list(
        session.scalars(
            select(Invoice.id)
            .where(Invoice.run_id == run_id, visible(actor, Invoice))
            .order_by(Invoice.series, Invoice.seq)
        )
    )


def paper_first(session: Session, invoice_ids: list[int]) -> list[int]:
    """The invoices of accounts billed on paper (what a print shop prints), in the order
    given; all of them when none is on paper (a reprint)."""
    if not invoice_ids:
        return invoice_ids
    paper = set(
        session.scalars(
            select(Invoice.id)
            .join(Account, Account.id == Invoice.account_id)
            .where(Invoice.id.in_(invoice_ids), Account.delivery_channel == "paper")
        )
    )
    return [i for i in invoice_ids if i in paper] or invoice_ids


def print_label(run_id: int) -> str:
    return f"run {run_id}"


def print_batches(session: Session, actor: Actor, run_id: int, limit: int = 5) -> list[PrintBatch]:
    """The latest print batches made from run ``run_id`` that the caller sees."""
    return list(
        session.scalars(
            select(PrintBatch)
            .where(PrintBatch.label == print_label(run_id), visible(actor, PrintBatch))
            .order_by(PrintBatch.id.desc())
            .limit(limit)
        )
    )
