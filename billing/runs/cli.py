"""``kilowatch billing-run``: prepare, simulate, approve, issue a billing run, with progress
bars (core.progress) and a JSON summary."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from rich.console import Console

run_app = typer.Typer(help="Billing runs: select, simulate, approve, issue.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _actor(username: str) -> Any:
    from core.context import Actor

    return Actor(user_id=None, username=username, scopes=frozenset({"*"}))


def _print(progress: Any) -> None:
    out.print_json(json.dumps(progress.model_dump(mode="json")))


@run_app.command("create")
def create_command(
    period_start: str = typer.Option(..., help="first day, YYYY-MM-DD"),
    period_end: str = typer.Option(..., help="day after the last, YYYY-MM-DD"),
    by: str = typer.Option(..., "--by", help="who prepares the run"),
    category: list[str] = typer.Option(None, help="usage categories"),
    agency: str | None = typer.Option(None, help="agency code"),
    chunk_size: int = typer.Option(5000, help="items per chunk"),
    issue_date: str | None = typer.Option(None, help="issue date, default today"),
) -> None:
    """Prepare a run (its items are selected at once); prints its id."""
    from billing.runs import service
    from billing.runs.schemas import RunCreate, Selection
    from core.context import acting_as
    from core.db import session_scope

    actor = _actor(by)
    data = RunCreate(
        period_start=date.fromisoformat(period_start),
        period_end=date.fromisoformat(period_end),
        issue_date=date.fromisoformat(issue_date) if issue_date else None,
        selection=Selection(categories=category or None, agency=agency),
        chunk_size=chunk_size,
    )
    with acting_as(actor, request_id="cli:billing-run"), session_scope() as session:
        run = service.create_run(session, actor, data)
        run_id = run.id
    out.print(run_id)


# Chunks at a time in this process (threads, a session each): two keep both of a small
# server's cores busy (one rates while the other's COPY runs).
WORKERS = typer.Option(2, "--workers", min=1, help="chunks at a time in this process")


@run_app.command("simulate")
def simulate_command(
    run_id: int, by: str = typer.Option(..., "--by"), workers: int = WORKERS
) -> None:
    """Simulate (or re-simulate, or resume simulating) a run; prints its progress."""
    _drive("simulate", run_id, by, workers)


@run_app.command("approve")
def approve_command(run_id: int, by: str = typer.Option(..., "--by"), note: str = "") -> None:
    """Approve a simulated run (not by its preparer)."""
    from billing.runs import service
    from core.context import acting_as
    from core.db import session_scope

    actor = _actor(by)
    with acting_as(actor, request_id="cli:billing-run"), session_scope() as session:
        service.approve(session, actor, run_id, note)
        progress = service.progress(session, actor, run_id)
    _print(progress)


@run_app.command("issue")
def issue_command(run_id: int, by: str = typer.Option(..., "--by"), workers: int = WORKERS) -> None:
    """Issue an approved run, or resume an interrupted issue; prints its progress."""
    _drive("issue", run_id, by, workers)


@run_app.command("status")
def status_command(run_id: int) -> None:
    from billing.runs import service
    from core.context import SYSTEM, acting_as
    from core.db import session_scope

    with acting_as(SYSTEM, request_id="cli:billing-run"), session_scope() as session:
        _print(service.progress(session, SYSTEM, run_id))


def _drive(phase: str, run_id: int, by: str, workers: int) -> None:
    from billing.runs import runner
    from core.context import acting_as
    from core.db import session_scope
    from core.progress import stage_bars

    actor = _actor(by)
    bars, progress = stage_bars(console)
    step = runner.simulate if phase == "simulate" else runner.issue
    with bars, acting_as(actor, request_id=f"cli:billing-run-{phase}"), session_scope() as session:
        result = step(session, actor, run_id, progress, workers=workers)
    _print(result)
