"""``kilowatch fraud``: zone energy balances and the load flows behind their losses."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from core.context import SYSTEM, acting_as
from core.errors import DomainError

fraud_app = typer.Typer(help="Non-technical losses: zone energy balances.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _fail(exc: DomainError) -> None:
    console.print(f"[bold red]error[/] ({exc.code}): {exc.detail}")
    raise typer.Exit(1)


@fraud_app.command("balance")
def balance_command(
    first: str = typer.Option(..., "--from", help="First month, YYYY-MM (local calendar)"),
    last: str = typer.Option(..., "--to", help="Last month, YYYY-MM (inclusive)"),
    max_unread: float = typer.Option(0.10, help="Largest share of unread usage points"),
    max_estimated: float = typer.Option(0.20, help="Largest share of estimated kWh"),
    min_share: float = typer.Option(0.03, help="Flag floor: NTL share (0.03 = 3 points)"),
    sigmas: float = typer.Option(2.0, help="Flag bar: this many sd of the zone's history"),
    consecutive: int = typer.Option(2, help="Months above the bar before a zone is flagged"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Compute and store every zone's energy balance for each month of the range."""
    from core.db import session_scope
    from core.progress import stage_bars
    from fraud import service
    from fraud.balance import BalanceRules
    from fraud.flags import FlagRule

    bars, progress = stage_bars(console)
    try:
        with (
            acting_as(SYSTEM, request_id=f"cli:fraud-balance:{first}:{last}"),
            session_scope() as session,
            bars,
        ):
            report = service.compute_balances(
                session,
                actor=SYSTEM,
                first=service.parse_month(first),
                last=service.parse_month(last),
                rules=BalanceRules(max_unread_share=max_unread, max_estimated_share=max_estimated),
                flag_rule=FlagRule(min_share=min_share, sigmas=sigmas, consecutive=consecutive),
                progress=progress,
            )
    except DomainError as exc:
        _fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(asdict(report)))
        return
    table = Table("months", "zones / month", "analysable", "flagged", "not analysable (why)")
    table.add_row(
        f"{report.months[0]} .. {report.months[-1]}",
        str(report.zones),
        str(report.analysable),
        str(report.flagged),
        ", ".join(f"{k}: {v}" for k, v in sorted(report.by_reason.items())) or "-",
    )
    out.print(table)


@fraud_app.command("losses")
def losses_command(
    folder: Path = typer.Argument(
        ..., exists=True, help="The OpenDSS folder of an imported feeder"
    ),
) -> None:
    """Measure the technical losses of an imported feeder and of its transformer zones by
    OpenDSS load flows (7 load levels x 24 h), store them as the zones' loss models, and
    re-calibrate the load-and-length model of the other zones."""
    from core.db import session_scope
    from fraud import service

    try:
        with acting_as(SYSTEM, request_id="cli:fraud-losses"), session_scope() as session:
            result = service.measure_losses(session, actor=SYSTEM, folder=folder)
    except DomainError as exc:
        _fail(exc)
        return
    table = Table("load x", "energy in kWh/day", "losses kWh/day", "share", title=result.feeder)
    for i, multiplier in enumerate(result.multipliers):
        energy, loss = result.feeder_zone.energy_in[i], result.feeder_zone.losses[i]
        table.add_row(f"{multiplier:g}", f"{energy:,.1f}", f"{loss:,.1f}", f"{loss / energy:.2%}")
    out.print(table)
    out.print(f"{len(result.transformers)} transformer zones measured")
