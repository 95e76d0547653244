"""``kilowatch ledger``: prove the books."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console

ledger_app = typer.Typer(help="The customer ledger: double-entry postings.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


@ledger_app.command("check")
def check_command(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Prove that every transaction balances and that every receivable control account
    equals the sum of its customer sub-ledgers. Exits 1 when the books do not hold."""
    from billing.ledger import repository
    from core.context import SYSTEM, acting_as
    from core.db import session_scope

    with acting_as(SYSTEM, request_id="cli:ledger-check"), session_scope() as session:
        report = repository.check(session)
    if as_json:
        out.print_json(json.dumps({**asdict(report), "ok": report.ok}))
    else:
        out.print(
            f"{report.transactions} transactions, {len(report.imbalances)} unbalanced "
            f"(total imbalance {report.total_imbalance}), "
            f"{len(report.subledger_gaps)} sub-ledger gaps"
        )
        for imbalance in report.imbalances:
            out.print(
                f"  transaction {imbalance.transaction_id}: {imbalance.postings} postings "
                f"summing to {imbalance.total}"
            )
        for gap in report.subledger_gaps:
            out.print(
                f"  account {gap.account_code}: control {gap.control_total}, "
                f"sub-ledgers {gap.subledger_total}"
            )
    if not report.ok:
        raise typer.Exit(1)
