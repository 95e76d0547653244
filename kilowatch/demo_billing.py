"""The ``kilowatch demo`` step that bills the demo utility: its tariffs (the codes the demo
contracts carry, with illustrative SBEE-like prices in XOF), one billing run per recent
month (prepared, simulated, approved by a second person, issued), and payments of most
of the older bills, so the billing pages, statements and customer files have data.

Idempotent: tariffs are imported (a version already there is left alone), a month whose
demo run is issued is skipped, a payment is posted once per invoice (its source
reference).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from billing.ledger.errors import LedgerSourcePostedError
from billing.ledger.models import TransactionKind
from billing.ledger.service import Line, post
from billing.runs import runner, service
from billing.runs.models import BillingRun
from billing.runs.schemas import RunCreate, Selection
from billing.tariffs.schemas import TariffCreate
from billing.tariffs.service import import_document
from core.context import SYSTEM, Actor
from core.periods import add_months, local_date, month_start

BILLED_MONTHS = 3
PAID_SHARE = 0.7  # of the bills older than the last month: paid 10 days after issue
PREPARER = Actor(user_id=None, username="billing.officer", scopes=frozenset({"*"}))
APPROVER = Actor(user_id=None, username="manager", scopes=frozenset({"*"}))

_VAT = {"code": "tva", "label": "TVA 18 %", "rate": "0.18", "base": ["energy", "fixed"]}
_LEVY = {"code": "redevance-eclairage", "label": "Redevance éclairage public", "amount": "100"}


def _tariff(
    code: str, name: str, fixed: dict[str, Any], blocks: list[dict[str, Any]]
) -> TariffCreate:
    return TariffCreate.model_validate(
        {
            "code": code,
            "name": name,
            "currency": "XOF",
            "description": "Tarif de démonstration (prix illustratifs)",
            "versions": [
                {
                    "effective_from": "2015-01-01",
                    "note": "Grille de démonstration",
                    "definition": {
                        "kwh_rounding": {"step": "1", "mode": "half_up"},
                        "fixed_charges": [fixed],
                        "energy": [{"code": "energie", "label": "Energie", "blocks": blocks}],
                        "levies": [_LEVY],
                        "taxes": [_VAT],
                        "total_rounding": {"step": 5, "mode": "half_up"},
                    },
                }
            ],
        }
    )


def demo_tariffs() -> list[TariffCreate]:
    """The six tariffs of the demo contracts (illustrative prices: never bill with them)."""
    flat = {"code": "prime-fixe", "label": "Prime fixe mensuelle", "amount": "400"}
    per_kva = {
        "code": "prime-puissance",
        "label": "Prime de puissance",
        "basis": "per_kva",
        "amount": "1200",
    }
    return [
        _tariff(
            "BT1-SOCIAL",
            "Domestique social (≤ 1,1 kVA)",
            {**flat, "amount": "200"},
            [
                {"up_to": "20", "price": "79", "label": "Tranche sociale"},
                {"price": "109", "label": "Tranche 1"},
            ],
        ),
        _tariff(
            "BT1-DOM",
            "Domestique basse tension",
            flat,
            [
                {"up_to": "250", "price": "109", "label": "Tranche 1"},
                {"price": "115", "label": "Tranche 2"},
            ],
        ),
        _tariff(
            "BT2-PRO",
            "Professionnel basse tension",
            per_kva,
            [{"price": "125", "label": "Energie"}],
        ),
        _tariff(
            "BT3-IND", "Industriel basse tension", per_kva, [{"price": "118", "label": "Energie"}]
        ),
        _tariff(
            "MT-IND",
            "Industriel moyenne tension",
            {**per_kva, "amount": "2500"},
            [{"price": "98", "label": "Energie"}],
        ),
        _tariff("BT-EP", "Éclairage public", flat, [{"price": "105", "label": "Energie"}]),
    ]


def _label(month: date) -> str:
    return f"demo {month:%Y-%m}"


def _bill_month(session: Session, month: date) -> int:
    """Bill ``month`` (a run of every usage point); the invoices issued (0 when done)."""
    done = session.scalar(
        select(BillingRun.id).where(
            BillingRun.label == _label(month), BillingRun.status == "issued"
        )
    )
    if done is not None:
        return 0
    end = add_months(month, 1)
    run = service.create_run(
        session,
        PREPARER,
        RunCreate(
            label=_label(month),
            period_start=month,
            period_end=end,
            issue_date=end + timedelta(days=2),
            selection=Selection(),
        ),
    )
    session.commit()
    runner.simulate(session, PREPARER, run.id)
    service.approve(session, APPROVER, run.id, "demo")
    session.commit()
    return runner.issue(session, APPROVER, run.id).invoices


def _pay(session: Session, months: list[date]) -> int:
    """Payments of about ``PAID_SHARE`` of the demo bills of ``months`` (chosen by their
    number, so the same ones on every build), 10 days after issue, at the bank."""
    rows = session.execute(
        text(
            "SELECT i.number, i.account_id, i.total, i.issue_date FROM billing_invoice i "
            "JOIN billing_run r ON r.id = i.run_id "
            "WHERE r.label = ANY(:labels) AND i.kind = 'invoice' AND i.total > 0 "
            "AND NOT EXISTS (SELECT 1 FROM billing_ledger_transaction t "
            "  WHERE t.kind = 'payment' AND t.source_ref = 'PAY-' || i.number) "
            "AND abs(hashtext(i.number)) % 100 < :share ORDER BY i.id"
        ),
        {"labels": [_label(m) for m in months], "share": int(PAID_SHARE * 100)},
    ).all()
    for number, account_id, total, issued in rows:
        try:
            post(
                session,
                SYSTEM,
                kind=TransactionKind.PAYMENT,
                entry_date=issued + timedelta(days=10),
                currency="XOF",
                source_ref=f"PAY-{number}",
                memo=f"payment of {number}",
                lines=[Line("bank", int(total)), Line("receivable", -int(total), account_id)],
            )
        except LedgerSourcePostedError:
            continue
    return len(rows)


def build_demo_billing(session: Session, _options: object) -> str:
    """Demo step: tariffs, the last ``BILLED_MONTHS`` months billed, older bills mostly paid."""
    for document in demo_tariffs():
        import_document(session, actor=SYSTEM, document=document)
    session.commit()
    this_month = month_start(local_date(datetime.now(UTC)))
    months = [add_months(this_month, -k) for k in range(BILLED_MONTHS, 0, -1)]
    issued = sum(_bill_month(session, month) for month in months)
    paid = _pay(session, months[:-1])
    return (
        f"{len(demo_tariffs())} tariffs, {issued:,} invoices issued for "
        f"{months[0]:%B %Y} to {months[-1]:%B %Y}, {paid:,} payments"
    )
