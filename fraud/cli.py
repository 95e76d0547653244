"""``kilowatch fraud``: zone energy balances and the load flows behind their losses."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

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


# -- models, scores, ranking, labels --------------------------------------------------------

labels_app = typer.Typer(help="Inspection outcomes the supervised model learns from.")
fraud_app.add_typer(labels_app, name="labels")


def _period(value: str | None) -> date:
    from core.periods import add_months, month_start, zone
    from fraud import service

    if value:
        return service.parse_month(value)
    return add_months(month_start(datetime.now(UTC).astimezone(zone())), -1)


def _rules(
    budget: int, audit_share: float, price: int, visit_cost: int, currency: str | None
) -> Any:
    from core.settings import get_settings
    from fraud.scoring.ranking import RankingRules

    return RankingRules(
        budget=budget,
        audit_share=audit_share,
        price_minor_per_kwh=price,
        visit_cost_minor=visit_cost,
        currency=currency or get_settings().currency,
    )


@fraud_app.command("train")
def train_command(
    period: str | None = typer.Option(None, "--period", help="YYYY-MM (default: last month)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fit the isolation forest on the network's features, and the gradient boosting on the
    labels when there are enough; store them as new versions in the model registry."""
    from core.db import session_scope
    from fraud.scoring import service as scoring

    try:
        with acting_as(SYSTEM, request_id="cli:fraud-train"), session_scope() as session:
            report = scoring.train_models(session, actor=SYSTEM, period=_period(period))
    except DomainError as exc:
        _fail(exc)
        return
    out.print_json(json.dumps(asdict(report))) if as_json else out.print(asdict(report))


@fraud_app.command("score")
def score_command(
    period: str | None = typer.Option(None, "--period", help="YYYY-MM (default: last month)"),
    budget: int = typer.Option(100, help="Inspections the budget buys"),
    audit_share: float = typer.Option(0.10, help="Share of them drawn at random (audit)"),
    price: int = typer.Option(100, help="Energy price, minor units per kWh"),
    visit_cost: int = typer.Option(5000, help="Cost of a visit, minor units"),
    currency: str | None = typer.Option(None, help="ISO 4217 (default: the setting)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Score every usage point for the month, rank the inspections under the budget and
    open a flag for each one selected."""
    from core.db import session_scope
    from fraud.scoring import service as scoring

    rules = _rules(budget, audit_share, price, visit_cost, currency)
    try:
        with acting_as(SYSTEM, request_id="cli:fraud-score"), session_scope() as session:
            report = scoring.score_network(
                session, actor=SYSTEM, period=_period(period), rules=rules
            )
    except DomainError as exc:
        _fail(exc)
        return
    if as_json:
        out.print_json(json.dumps(asdict(report)))
        return
    out.print(
        f"run {report.run_id} ({report.period}): {report.usage_points:,} usage points scored, "
        f"{report.selected_priority} selected by priority + {report.selected_audit} audits, "
        f"{report.flags_opened} flags opened; models {report.models}; seconds {report.seconds}"
    )


@fraud_app.command("ranking")
def ranking_command(
    run: int | None = typer.Option(None, help="Score run id (default: the newest)"),
    limit: int = typer.Option(100, help="Rows (0: all)"),
    selected: bool = typer.Option(False, "--selected", help="Only what the budget selects"),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write the ranking to this CSV"),
) -> None:
    """The ranking of the newest (or given) run with the usage points' external keys."""
    import csv

    from core.db import session_scope
    from fraud.scoring import service as scoring

    with acting_as(SYSTEM, request_id="cli:fraud-ranking"), session_scope() as session:
        run_id = run or scoring.latest_run_id(session)
        if run_id is None:
            console.print("[bold red]error[/]: no score run yet: run `kilowatch fraud score`")
            raise typer.Exit(1)
        rows = scoring.ranking_rows(
            session, actor=SYSTEM, run_id=run_id, limit=limit or None, selected_only=selected
        )
    columns = [
        "rank", "external_key", "code", "category", "transformer", "probability",
        "zone_factor", "recoverable_kwh", "priority_minor", "currency", "selection", "reasons",
    ]  # fmt: skip
    if csv_path is not None:
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for r in rows:
                reasons = " | ".join(x["text"] for x in r["reasons"])
                writer.writerow([*(r[c] for c in columns[:-1]), reasons])
        console.print(f"{len(rows)} rows written to {csv_path}")
        return
    table = Table("rank", "usage point", "P(NTL)", "zone x", "kWh", "priority", "sel", "why")
    for r in rows:
        table.add_row(
            str(r["rank"]),
            r["external_key"],
            f"{r['probability']:.3f}",
            f"{r['zone_factor']:.2f}",
            f"{r['recoverable_kwh']:,.0f}",
            f"{r['priority_minor']:,}",
            r["selection"] or "",
            r["reasons"][0]["text"] if r["reasons"] else "",
        )
    out.print(table)


@labels_app.command("import")
def labels_import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV of inspections"),
) -> None:
    """Import past inspections as labels (usage_point, date, outcome, kind); a file with
    bad rows is refused whole and every bad row is listed. Idempotent."""
    from core.db import session_scope
    from fraud.scoring.labels import import_labels

    try:
        with acting_as(SYSTEM, request_id=f"cli:fraud-labels:{file.name}"), session_scope() as s:
            report = import_labels(
                s,
                actor=SYSTEM,
                content=file.read_text(encoding="utf-8"),
                source=f"import:{file.name}",
            )
    except DomainError as exc:
        for problem in exc.extra.get("problems", []):
            console.print(f"line {problem['line']}: {problem['problem']}")
        _fail(exc)
        return
    out.print(
        f"{report.rows} rows: {report.inserted} new labels, {report.updated} changed, "
        f"{report.unchanged} unchanged"
    )
