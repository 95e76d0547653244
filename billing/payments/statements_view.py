"""What the bank-statement pages show: each imported statement with its counts, and one
statement's lines that named no account (waiting, or matched by hand since)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.payments.errors import StatementNotFoundError
from billing.payments.models import BankStatement, Payment, UnmatchedReceipt
from core.context import Actor
from core.territory import visible


@dataclass(frozen=True)
class StatementView:
    statement: BankStatement
    waiting: list[UnmatchedReceipt]  # no account found: in the unmatched queue
    matched_by_hand: list[tuple[UnmatchedReceipt, Payment | None]]


def statements(session: Session, actor: Actor, *, limit: int = 100) -> list[BankStatement]:
    return list(
        session.scalars(
            select(BankStatement)
            .where(visible(actor, BankStatement))
            .order_by(BankStatement.imported_at.desc(), BankStatement.id.desc())
            .limit(limit)
        )
    )


def statement(session: Session, actor: Actor, statement_id: int) -> StatementView:
    found = session.scalars(
        select(BankStatement).where(BankStatement.id == statement_id, visible(actor, BankStatement))
    ).one_or_none()
    if found is None:
        raise StatementNotFoundError(f"no bank statement {statement_id}")
    receipts = list(
        session.scalars(
            select(UnmatchedReceipt)
            .where(UnmatchedReceipt.statement_id == found.id)
            .order_by(UnmatchedReceipt.id)
        )
    )
    paid = {
        p.id: p
        for p in session.scalars(
            select(Payment).where(Payment.id.in_([r.payment_id for r in receipts if r.payment_id]))
        )
    }
    return StatementView(
        statement=found,
        waiting=[r for r in receipts if r.payment_id is None],
        matched_by_hand=[(r, paid.get(r.payment_id)) for r in receipts if r.payment_id],
    )
