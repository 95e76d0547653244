"""The ``kilowatch`` command: mounts every domain's commands and runs the services."""

from __future__ import annotations

import typer

from billing.cli import ledger_app
from billing.collections.cli import collections_app
from billing.runs.cli import run_app
from core.cli import db_app, outbox_app, user_app
from core.migration.cli import migrate_app
from customers.cli import customers_app
from fraud.cli import fraud_app
from gis.cli import network_app
from kilowatch.bootstrap import bootstrap
from kilowatch.company_cli import company_app
from kilowatch.fraud_evaluation import evaluate_command
from meters.cli import readings_app
from mobile_sync.cli import handheld_app

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Kilowatch: field operations and revenue protection.",
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(outbox_app, name="outbox")
app.add_typer(network_app, name="network")
app.add_typer(customers_app, name="customers")
app.add_typer(readings_app, name="readings")
app.add_typer(migrate_app, name="migrate")
app.add_typer(fraud_app, name="fraud")
app.add_typer(ledger_app, name="ledger")
app.add_typer(handheld_app, name="handheld")
app.add_typer(run_app, name="billing-run")
app.add_typer(collections_app, name="collections")
app.add_typer(company_app, name="company")
# Evaluating the NTL detectors reads the demo's ground truth: only the root may.
fraud_app.command("evaluate")(evaluate_command)


@app.callback()
def _root() -> None:
    bootstrap()


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    reload: bool = typer.Option(False),
    workers: int = typer.Option(1),
) -> None:
    """Serve the API and the web pages with uvicorn."""
    import uvicorn

    uvicorn.run(
        "kilowatch.asgi:app",
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        # X-Forwarded-For is believed only from settings.trusted_proxies (api/forwarded.py).
        proxy_headers=False,
        log_level="info",
    )


@app.command()
def worker(
    concurrency: int = typer.Option(2),
    queues: str = typer.Option("kilowatch"),
    loglevel: str = typer.Option("INFO"),
) -> None:
    """Start a Celery worker (needs KILOWATCH_BROKER_URL)."""
    from core.celery_app import celery_app
    from core.settings import get_settings

    if not get_settings().broker_url:
        from core.cli import fail

        fail("KILOWATCH_BROKER_URL is not set: without a broker, tasks run in-process")
    celery_app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@app.command()
def beat(loglevel: str = typer.Option("INFO")) -> None:
    """Start Celery beat (periodic jobs such as the outbox sweeper)."""
    from core.celery_app import celery_app
    from core.settings import get_settings

    schedule = get_settings().data_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])


@app.command()
def demo(
    seed: int = typer.Option(42, help="Random seed: the same seed builds the same utility"),
    service_points: int = typer.Option(3000, help="Size of the generated network"),
    customers: int = typer.Option(2000, help="Customers to create on the network"),
    serve_after: bool = typer.Option(False, "--serve", help="Serve on 127.0.0.1:8000 afterwards"),
    port: int = typer.Option(8000),
) -> None:
    """Build the demo utility (idempotent) and print the sign-in."""
    from kilowatch.demo import DemoOptions, build_demo, print_logins

    build_demo(DemoOptions(seed=seed, service_points=service_points, customers=customers))
    print_logins(f"http://127.0.0.1:{port}")
    if serve_after:
        serve(host="127.0.0.1", port=port, reload=False, workers=1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
