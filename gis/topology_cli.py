"""``kilowatch network import | export | trace | retrace | switch``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.context import SYSTEM, acting_as
from core.errors import DomainError

console = Console(stderr=True)
out = Console()


def _fail(exc: DomainError) -> None:
    console.print(f"[bold red]error[/] ({exc.code}): {exc.detail}")
    if exc.errors:
        table = Table("record", "problem", "code", title=f"{len(exc.errors)} bad record(s)")
        for error in exc.errors:
            table.add_row(error.field, error.message, error.code)
        console.print(table)
    raise typer.Exit(1)


def import_command(
    path: Path = typer.Argument(
        ..., exists=True, help="A .geojson / .gpkg file or an OpenDSS folder"
    ),
    format: str = typer.Option(
        None, "--format", "-f", help="geojson | gpkg | opendss (default: told from the content)"
    ),
    crs: str = typer.Option(
        None, "--crs", help="CRS of the coordinates, e.g. EPSG:31983 (default: the file's)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Import (or re-import: rows are updated by code) a feeder, in one transaction."""
    from core.db import session_scope
    from gis.service import import_network

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("reading", total=1)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=max(total, 1))

            request = f"cli:network-import:{path.name}"
            with acting_as(SYSTEM, request_id=request), session_scope() as session:
                report = import_network(
                    session, actor=SYSTEM, path=path, format=format, crs=crs, progress=progress
                )
    except DomainError as exc:
        _fail(exc)
    if as_json:
        out.print_json(json.dumps(report.as_dict(), default=str))
        return
    table = Table("kind", "records", title=f"{report.source} ({report.format}, {report.crs})")
    for kind, count in report.records.items():
        table.add_row(kind, str(count))
    out.print(table)
    rows = ", ".join(f"{t}: +{v['inserted']} ~{v['updated']}" for t, v in report.rows.items())
    out.print(f"rows (inserted/updated): {rows}")
    for feeder, counts in report.feeder_counts.items():
        out.print(f"feeder {feeder}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    topo = report.topology
    out.print(
        f"topology: {topo['island_nodes']} island node(s) in {topo['island_components']} "
        f"island(s), {topo['loops']} loop(s), {topo['open_switches']} open switch(es); "
        f"{report.derived_locations} derived location(s); {len(report.warnings)} "
        f"warning(s); {report.seconds:.2f} s"
    )


def export_command(
    feeder: str = typer.Argument(..., help="Feeder code"),
    format: str = typer.Option("geojson", "--format", "-f", help="geojson | gpkg"),
    output: Path = typer.Option(..., "--output", "-o", help="File to write"),
) -> None:
    """Export a feeder to GeoJSON or GeoPackage (EPSG:4326, re-importable)."""
    from core.db import session_scope
    from gis.service import export_feeder

    try:
        with session_scope() as session:
            data = export_feeder(session, actor=SYSTEM, code=feeder, format=format)
    except DomainError as exc:
        _fail(exc)
    output.write_bytes(data)
    console.print(f"wrote {output} ({len(data):,} bytes)")


def trace_command(
    feeder: str = typer.Argument(None, help="Feeder code (trace from its head)"),
    start: str = typer.Option(None, "--from", help="KIND:CODE, e.g. service_point:bt21088"),
    direction: str = typer.Option("downstream", help="downstream | upstream | connected"),
) -> None:
    """Count what a trace reaches."""
    from core.db import session_scope
    from gis.topology import trace

    start_pair = tuple(start.split(":", 1)) if start else None
    try:
        with session_scope() as session:
            result = trace(
                session,
                feeder_code=feeder,
                start=start_pair,  # type: ignore[arg-type]
                direction=direction,
            )  # type: ignore[arg-type]
    except DomainError as exc:
        _fail(exc)
    out.print_json(json.dumps(result.counts))


def retrace_command(
    feeder: list[str] = typer.Argument(None, help="Feeder codes (default: every dirty feeder)"),
    all_feeders: bool = typer.Option(False, "--all", help="Every feeder"),
) -> None:
    """Re-trace feeders and materialise each asset's feeder and transformer."""
    from sqlalchemy import text

    from core.db import session_scope
    from gis.service import retrace_feeders

    with acting_as(SYSTEM, request_id="cli:network-retrace"), session_scope() as session:
        ids = None
        if all_feeders or feeder:
            sql = "SELECT id FROM gis_feeder" + ("" if all_feeders else " WHERE code = ANY(:c)")
            ids = list(session.execute(text(sql), {"c": feeder or []}).scalars())
        report = retrace_feeders(session, feeder_ids=ids)
    out.print_json(json.dumps(report.as_dict(), default=str))


def switch_command(
    code: str = typer.Argument(..., help="Switch code"),
    open_: bool = typer.Option(..., "--open/--close", help="Open or close it"),
    reason: str = typer.Option(None, help="Why (kept in the audit trail)"),
) -> None:
    """Operate a switch; its feeders are re-traced after commit."""
    from core.db import session_scope
    from gis.service import operate_switch

    try:
        with acting_as(SYSTEM, request_id="cli:network-switch"), session_scope() as session:
            done = operate_switch(session, actor=SYSTEM, code=code, open=open_, reason=reason)
            state = "open" if done.switch.is_open else "closed"
    except DomainError as exc:
        _fail(exc)
    console.print(f"switch {code} is {state}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("trace")(trace_command)
    app.command("retrace")(retrace_command)
    app.command("switch")(switch_command)
