"""``kilowatch readings ...``: bulk reading imports from the command line."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.errors import DomainError

readings_app = typer.Typer(help="Meter readings: bulk import.")
console = Console(stderr=True)


@readings_app.command("import")
def import_file(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="CSV: serial,read_at,value,source[,register,...]",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Import a reading CSV: validated set-based, idempotent (re-importing adds nothing)."""
    from meters.readings.importer import import_readings_from_csv

    size = file.stat().st_size
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        copy_task = progress.add_task("copy", total=size)
        check_task = progress.add_task("validate + merge", total=1, start=False)

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage == "copy":
                progress.update(copy_task, completed=done)
            elif done == 0:
                progress.update(copy_task, completed=size)
                progress.start_task(check_task)
            else:
                progress.update(check_task, completed=1)

        try:
            with (
                acting_as(SYSTEM, reason=f"readings import {file.name}"),
                session_scope() as session,
            ):
                report = import_readings_from_csv(session, file, on_progress=on_progress)
        except DomainError as exc:
            progress.stop()
            console.print(f"[bold red]refused:[/] {exc.detail}")
            for error in exc.errors[:50]:
                console.print(f"  {error.field}: {error.message} [dim]({error.code})[/]")
            raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(asdict(report) | {"rejected_by_code": report.rejected_by_code}))
        return
    console.print(
        f"{report.rows} rows: [green]{report.new} new[/], {report.duplicates} duplicates; "
        f"{report.accepted} accepted, [yellow]{report.flagged} flagged[/], "
        f"[red]{report.rejected} rejected[/] (rules v{report.rule_set_version}, {report.seconds} s)"
    )
    for status, codes in report.codes_by_status.items():
        console.print(f"  {status}: " + ", ".join(f"{c} {n}" for c, n in codes.items()))
