"""Payments' part of the customer file (``customers.customer_file``): each account's latest
payments with their channel, instrument and state (a bounced cheque, a returned debit), its
SEPA mandate, and the latest prepaid purchases with their energy and token. Registered when
the composition root imports this module (after ``billing.account_file``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.payments.models import DirectDebitMandate, Payment, PrepaidVend
from customers.customer_file import FileScope, register_section

RECENT = 6  # payments and purchases shown per account


def _latest(session: Session, model: Any, order: Any, account_ids: list[int]) -> list[Any]:
    """The ``RECENT`` newest rows of ``model`` per account, in one query."""
    rank = (
        func.row_number()
        .over(partition_by=model.customer_account_id, order_by=(order.desc(), model.id.desc()))
        .label("rank")
    )
    ranked = select(model.id, rank).where(model.customer_account_id.in_(account_ids)).subquery()
    return list(
        session.scalars(
            select(model)
            .join(ranked, ranked.c.id == model.id)
            .where(ranked.c.rank <= RECENT)
            .order_by(model.customer_account_id, order.desc(), model.id.desc())
        )
    )


def payments_section(scope: FileScope) -> None:
    accounts = scope.body.get("accounts")
    if accounts is None or not scope.actor.has_scope("billing:read"):
        return
    ids = [a["id"] for a in accounts]
    if not ids:
        return
    session = scope.session
    found: dict[int, dict[str, Any]] = {
        a["id"]: {"account_id": a["id"], "number": a["number"], "payments": [], "purchases": []}
        for a in accounts
    }
    for p in _latest(session, Payment, Payment.received_at, ids):
        found[p.customer_account_id]["payments"].append(
            {
                "id": p.id,
                "number": p.number,
                "received_at": p.received_at,
                "channel": p.channel,
                "instrument": p.instrument,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "cleared": p.cleared,
            }
        )
    for v in _latest(session, PrepaidVend, PrepaidVend.vended_at, ids):
        found[v.customer_account_id]["purchases"].append(
            {
                "id": v.id,
                "vended_at": v.vended_at,
                "meter_serial": v.meter_serial,
                "amount": v.amount,
                "kwh": str(v.kwh),
                "token": v.token,
                "currency": v.currency,
                "status": v.status,
            }
        )
    for m in session.scalars(
        select(DirectDebitMandate).where(
            DirectDebitMandate.customer_account_id.in_(ids), DirectDebitMandate.status == "active"
        )
    ):
        found[m.customer_account_id]["mandate"] = {"reference": m.reference, "iban": m.iban}
    scope.body["payments"] = {"accounts": list(found.values())}


register_section("payments", payments_section)
