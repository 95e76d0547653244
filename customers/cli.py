"""``kilowatch customers ...``: data-quality commands of the customer domain."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.context import SYSTEM, acting_as
from core.db import session_scope
from customers.duplicates import LIKELY_SCORE, active_party_count, scan_duplicates

customers_app = typer.Typer(no_args_is_help=True, help="Customers: duplicates, SLA clocks.")
console = Console()


@customers_app.command("duplicates")
def duplicates(
    min_score: float = typer.Option(LIKELY_SCORE, min=0.0, max=1.0, help="Lowest score shown"),
    limit: int = typer.Option(200, min=1, help="Show at most this many pairs"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line"),
) -> None:
    """List likely duplicate customers (trigram name similarity + same phone / document)."""
    found = []
    with acting_as(SYSTEM), session_scope() as session:
        total = active_party_count(session)
        with Progress(
            TextColumn("scanning customers"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=as_json,
        ) as progress:
            task = progress.add_task("scan", total=total)
            for scanned, pairs in scan_duplicates(session, min_score=min_score):
                found.extend(pairs)
                progress.update(task, completed=min(scanned, total))
    found.sort(key=lambda p: (-p.score, p.party_id, p.other_id))
    if as_json:
        for pair in found[:limit]:
            print(
                json.dumps(
                    {
                        "party_id": pair.party_id,
                        "other_id": pair.other_id,
                        "other_name": pair.other_name,
                        "score": pair.score,
                        "reasons": list(pair.reasons),
                    }
                )
            )
        return
    table = Table("party", "likely duplicate", "name", "score", "why")
    for pair in found[:limit]:
        table.add_row(
            str(pair.party_id),
            str(pair.other_id),
            pair.other_name,
            f"{pair.score:.3f}",
            ", ".join(pair.reasons),
        )
    console.print(table)
    console.print(f"{len(found)} likely duplicate pair(s) among {total} customers")


@customers_app.command("flag-breaches")
def flag_breaches() -> None:
    """Mark open cases past their due working day as SLA-breached."""
    from customers.service import flag_breached_cases

    with acting_as(SYSTEM, reason="SLA clock"), session_scope() as session:
        console.print(f"{flag_breached_cases(session)} case(s) newly breached")
