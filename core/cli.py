"""Core CLI commands: the embedded database, users and the outbox."""

from __future__ import annotations

import getpass
import os
import sys
from typing import NoReturn

import typer
from rich.console import Console

from core.context import SYSTEM, acting_as
from core.embedded_pg import EmbeddedCluster
from core.errors import DomainError
from core.settings import get_settings

console = Console(stderr=True)

db_app = typer.Typer(help="The database: embedded PostgreSQL + PostGIS, or KILOWATCH_DATABASE_URL.")
user_app = typer.Typer(help="Staff accounts.")
outbox_app = typer.Typer(help="Domain-event outbox.")


def fail(message: str, code: int = 2) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _cluster() -> EmbeddedCluster:
    return EmbeddedCluster.from_settings(get_settings())


@db_app.command("up")
def db_up(migrate: bool = typer.Option(True, help="Run migrations after start")) -> None:
    """Start the database (creating the embedded cluster on first use) and migrate it."""
    from core.embedded_pg import EmbeddedClusterError
    from core.migrate import upgrade

    settings = get_settings()
    try:
        url = settings.database_url or _cluster().up()
    except EmbeddedClusterError as exc:
        fail(str(exc))
    if migrate:
        with console.status("Running migrations ..."):
            upgrade(url)
    typer.echo(url)


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster (its data stays in the data folder)."""
    if get_settings().database_url:
        fail("KILOWATCH_DATABASE_URL is set: that server is not managed by Kilowatch")
    console.print("stopped" if _cluster().down() else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is reachable, and where."""
    from sqlalchemy import text

    from core.db import DatabaseNotConfiguredError, database_url, get_engine

    try:
        url = database_url()
        with get_engine(url).connect() as conn:
            version = conn.execute(text("SELECT postgis_full_version()")).scalar()
    except DatabaseNotConfiguredError as exc:
        fail(str(exc), code=1)
    except Exception as exc:
        fail(f"database not reachable: {exc}", code=1)
    console.print(f"running: {url}\n{str(version)[:120]}")


@db_app.command("url")
def db_url() -> None:
    """Print the SQLAlchemy URL of the database."""
    from core.db import DatabaseNotConfiguredError, database_url

    try:
        typer.echo(database_url())
    except DatabaseNotConfiguredError as exc:
        fail(str(exc), code=1)


@db_app.command("migrate")
def db_migrate(revision: str = typer.Argument("head")) -> None:
    """Run Alembic migrations up to REVISION."""
    from core.db import DatabaseNotConfiguredError, database_url
    from core.migrate import upgrade

    try:
        upgrade(database_url(), revision)
    except DatabaseNotConfiguredError as exc:
        fail(str(exc), code=1)
    console.print(f"migrated to {revision}")


@user_app.command("create")
def user_create(
    username: str = typer.Option(..., "--username", "-u"),
    role: list[str] = typer.Option(..., "--role", "-r", help="Repeat for several roles"),
    agency: str | None = typer.Option(None, "--agency", "-a", help="Agency code (territory)"),
    full_name: str = typer.Option("", "--full-name"),
    password: str | None = typer.Option(
        None, "--password", help="Default: KILOWATCH_NEW_USER_PASSWORD, else prompted"
    ),
    create_agency: bool = typer.Option(False, help="Create the agency if it does not exist"),
) -> None:
    """Create a staff account."""
    from core.auth import service
    from core.db import session_scope

    secret = password or os.environ.get("KILOWATCH_NEW_USER_PASSWORD")
    if not secret:
        if not sys.stdin.isatty():
            fail("no password: pass --password or set KILOWATCH_NEW_USER_PASSWORD")
        secret = getpass.getpass(f"Password for {username}: ")
    if len(secret) < 8:
        fail("the password must have at least 8 characters")
    try:
        with acting_as(SYSTEM, request_id="cli:user-create"), session_scope() as session:
            if agency and create_agency:
                service.get_or_create_agency(session, code=agency)
            user = service.create_user(
                session,
                username=username,
                password=secret,
                roles=role,
                agency_code=agency,
                full_name=full_name,
            )
            console.print(f"created user {user.username} (id {user.id}) roles={','.join(role)}")
    except DomainError as exc:
        fail(exc.detail)


@outbox_app.command("sweep")
def outbox_sweep(older_than: int = typer.Option(0, help="Seconds since commit")) -> None:
    """Re-dispatch committed events that were never dispatched."""
    from core.tasks import sweep_outbox

    console.print(f"re-sent {sweep_outbox(older_than_seconds=older_than)} event(s)")
