"""``kilowatch handheld ...``: simulated handhelds against a running server."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

handheld_app = typer.Typer(help="Handhelds: simulate devices syncing over HTTP.")


@handheld_app.command("simulate")
def simulate_command(
    devices: int = typer.Option(1, "--devices", min=1, help="How many devices"),
    records: int = typer.Option(10, "--records", min=0, help="Records each device captures"),
    faults: int | None = typer.Option(None, "--faults", help="Inject faults from this seed"),
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="The server"),
    plan: Path | None = typer.Option(
        None,
        "--plan",
        exists=True,
        dir_okay=False,
        help='JSON {"users": [{"username", "password", "registers": (ids)}]}: device i '
        "is carried by user i mod len(users); registers are read when no round is pulled",
    ),
    username: str | None = typer.Option(None, "--username", help="Without --plan: the user"),
    password: str | None = typer.Option(None, "--password", help="Without --plan"),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="Where each device keeps its SQLite outbox (default: temp)"
    ),
    batch: int = typer.Option(50, "--batch", min=1, max=1000, help="Records per push"),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Devices at once"),
    phase: str = typer.Option("all", "--phase", help="all | capture | sync"),
    deadline: float = typer.Option(120.0, "--deadline", help="Seconds to wait for the server"),
) -> None:
    """Simulated handhelds: sign in, enroll, pull, capture, sync; prints one JSON report."""
    from mobile_sync.simulator.device import DeviceSpec
    from mobile_sync.simulator.run import PHASES, simulate

    if phase not in PHASES:
        raise typer.BadParameter(f"--phase is one of {', '.join(PHASES)}")
    if plan is not None:
        users = json.loads(plan.read_text())["users"]
    elif username and password:
        users = [{"username": username, "password": password, "registers": []}]
    else:
        raise typer.BadParameter("give --plan, or --username and --password")
    specs = [
        DeviceSpec(
            index=i,
            username=users[i % len(users)]["username"],
            password=users[i % len(users)]["password"],
            registers=list(users[i % len(users)].get("registers") or []),
        )
        for i in range(devices)
    ]
    folder = state_dir or Path(tempfile.mkdtemp(prefix="kw-handhelds-"))
    report = simulate(
        url=url,
        specs=specs,
        records=records,
        state_dir=folder,
        faults_seed=faults,
        batch_size=batch,
        concurrency=concurrency,
        phase=phase,
        deadline_s=deadline,
    )
    report["state_dir"] = str(folder)
    typer.echo(json.dumps(report))
