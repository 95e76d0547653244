"""``kilowatch network generate``: a synthetic network, with a progress bar."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.errors import DomainError
from core.progress import stage_bars

console = Console(stderr=True)


def _parse_centre(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    try:
        lon, lat = (float(part) for part in value.split(","))
    except ValueError as exc:
        raise typer.BadParameter("expected LON,LAT in degrees, e.g. 2.39,6.37") from exc
    return lon, lat


def generate_command(
    service_points: int = typer.Option(
        3000, "--service-points", "-n", help="Connections to generate"
    ),
    seed: int = typer.Option(
        42, help="Random seed: the same seed gives the same network (codes GEN-<seed>-...)"
    ),
    centre: str | None = typer.Option(
        None, help="City centre LON,LAT (EPSG:4326); default: the map centre setting"
    ),
    transformers: int | None = typer.Option(
        None, help="Distribution transformers (default: one per 20 connections)"
    ),
    replace: bool = typer.Option(False, help="Delete the network generated with this seed first"),
) -> None:
    """Generate a realistic radial network: substations, MV feeders along streets,
    transformers sized to their load, service points clustered like a city."""
    from gis.generator import delete_generated_network, generate_network

    where = _parse_centre(centre)
    started = time.perf_counter()
    bars, progress = stage_bars(console, 28)

    try:
        with bars:
            with acting_as(SYSTEM, request_id="network-generate"), session_scope() as session:
                if replace:
                    deleted = delete_generated_network(session, seed=seed)
                    progress("delete previous", 1, 1)
                    console.print(f"deleted {sum(deleted.values())} rows of the previous network")
                report = generate_network(
                    session,
                    service_points=service_points,
                    seed=seed,
                    centre=where,
                    transformers=transformers,
                    progress=progress,
                )
                commit = bars.add_task("commit", total=1)
            bars.update(commit, completed=1)
    except DomainError as exc:
        console.print(f"[bold red]error:[/] {exc.detail}")
        for error in exc.errors:
            console.print(f"  {error.field}: {error.message}")
        raise typer.Exit(2) from exc

    table = Table(title=f"Network {report.prefix}* ({report.projected_crs})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in report.counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    ratings = ", ".join(f"{kva} kVA: {n}" for kva, n in report.rated_kva.items())
    console.print(f"transformer ratings: {ratings}")
    console.print(f"done in {time.perf_counter() - started:.1f} s")
