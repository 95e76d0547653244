"""``kilowatch collections``: the nightly advance by hand."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.console import Console

collections_app = typer.Typer(help="Collections: dunning steps and notices.", no_args_is_help=True)
out = Console()


@collections_app.command("advance")
def advance_command(
    on: datetime | None = typer.Option(
        None, "--date", formats=["%Y-%m-%d"], help="Business day (default: today)"
    ),
    full: bool = typer.Option(False, "--full", help="Recompute every file, not only new ones"),
) -> None:
    """Recompute the overdue state of accounts whose bills fell overdue, fire the steps whose day has come, charge their fees
    (and the month's interest on its last day), then send the notices."""
    from billing.collections import nightly

    report = nightly.run(on.date() if on else None, full=full)
    out.print_json(json.dumps(report))
