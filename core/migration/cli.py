"""``kilowatch migrate ...``: bring a legacy base in, take it out, templates, the format."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.errors import DomainError
from core.migration.context import MigrationSettings
from core.migration.export import (
    FileFormat,
    export_parked,
    format_reference,
    run_export,
    write_templates,
)
from core.migration.runner import import_committed
from core.migration.service import MigrationInvalidError, MigrationReport, get_run
from core.progress import stage_bars

migrate_app = typer.Typer(help="Data migration: import a legacy base, export, templates.")
console = Console(stderr=True)


def _format(value: str) -> FileFormat:
    if value not in ("csv", "xlsx"):
        raise typer.BadParameter("csv or xlsx")
    return "csv" if value == "csv" else "xlsx"


@migrate_app.command("import")
def import_base(
    source: Path = typer.Argument(
        ..., exists=True, help="A folder of <entity>.csv files, an .xlsx workbook or a .zip"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, write nothing"),
    partial: bool = typer.Option(
        False, "--partial", help="Load the valid rows, park the bad ones with their reasons"
    ),
    attach_max_m: float = typer.Option(
        50.0, "--attach-max-m", help="Premises farther from any service point are reported"
    ),
    resume: int | None = typer.Option(
        None,
        "--resume",
        metavar="RUN_ID",
        help="Continue run RUN_ID (cut short) from its first unwritten entity",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Import a legacy base: every file checked before anything is written, then each
    entity committed on its own; re-running the same files changes nothing, and a run cut
    short is continued with --resume RUN_ID (the same files)."""
    bars, progress = stage_bars(console)
    settings = MigrationSettings(attach_max_m=attach_max_m)
    try:
        if resume is not None:
            _check_resumable(resume, source)
        with bars, acting_as(SYSTEM, reason=f"data migration {source.name}"):
            report = import_committed(
                actor=SYSTEM,
                source=source,
                dry_run=dry_run,
                partial=partial,
                settings=settings,
                progress=progress,
                run_id=resume,
                resume=resume is not None,
            )
    except MigrationInvalidError as refused:
        console.print(f"[bold red]refused:[/] {refused.detail}")
        for p in refused.problems:
            console.print(f"  {p.file}:{p.line}:{p.field}: {p.message} [dim]({p.code})[/]")
        raise typer.Exit(1) from refused
    except (ValueError, DomainError) as bad:
        console.print(f"[bold red]error:[/] {bad}")
        raise typer.Exit(2) from bad
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        _print_report(report)


def _check_resumable(run_id: int, source: Path) -> None:
    """Only a run cut short, of the same files, is continued."""
    with session_scope() as session:
        run = get_run(session, run_id)
        if run.source_name != source.name:
            raise ValueError(f"run {run_id} imported {run.source_name!r}, not {source.name!r}")
        if run.status not in ("running", "failed"):
            raise ValueError(f"run {run_id} is {run.status}: nothing to resume")


def _print_report(report: MigrationReport) -> None:
    table = Table(title=f"run {report.run_id}: {report.status} ({report.seconds:.1f} s)")
    for heading in ("entity", "rows", "inserted", "updated", "unchanged", "parked", "problems"):
        table.add_column(heading, justify="left" if heading == "entity" else "right")
    for name, e in report.entities.items():
        table.add_row(
            name,
            *(str(v) for v in (e.rows, e.inserted, e.updated, e.unchanged, e.parked, e.problems)),
        )
    console.print(table)
    if report.resumed:
        console.print(f"  resumed: {', '.join(report.resumed)} written by the run cut short")
    for p in report.problems:
        console.print(f"  parked {p.file}:{p.line}:{p.field}: {p.message} [dim]({p.code})[/]")
    for n in report.notes:
        console.print(f"  note {n.file}:{n.line}:{n.field}: {n.message} [dim]({n.code})[/]")


@migrate_app.command("export")
def export_base(
    target: Path = typer.Argument(..., help="A folder (csv) or a workbook path (xlsx)"),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx"),
) -> None:
    """Export the stored base in the import format (a lossless round trip)."""
    with acting_as(SYSTEM), session_scope() as session:
        counts = run_export(session, target, _format(fmt))
    for name, count in counts.items():
        console.print(f"{name}: {count} rows")


@migrate_app.command("template")
def templates(
    target: Path = typer.Argument(..., help="A folder (csv) or a workbook path (xlsx)"),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx"),
) -> None:
    """Write each file of the format with its header and two example rows."""
    for name in write_templates(target, _format(fmt)):
        console.print(f"{name}: template written")


@migrate_app.command("parked")
def parked(
    run_id: int = typer.Argument(..., help="The partial run"),
    target: Path = typer.Argument(..., help="A folder (csv) or a workbook path (xlsx)"),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx"),
) -> None:
    """Write the rows a partial run parked as files of the format: correct them and
    import them again."""
    with acting_as(SYSTEM), session_scope() as session:
        count = export_parked(session, run_id, target, _format(fmt))
    console.print(f"{count} parked rows written to {target}")


@migrate_app.command("formats")
def formats() -> None:
    """Print the format's reference (Markdown: a table per file)."""
    typer.echo(format_reference(), nl=False)
