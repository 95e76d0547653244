"""The demo utility: staff accounts for every role and, as domains arrive, a network,
customers, meters and readings. Re-running it is safe (it skips what exists)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import service as auth_service
from core.auth.models import User
from core.auth.scopes import Role
from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.settings import get_settings
from gis.generator.demo import build_demo_network
from kilowatch.demo_billing import build_demo_billing
from kilowatch.demo_utility.builder import service_points_for
from kilowatch.demo_utility.step import build_demo_customers

console = Console(stderr=True)

DEMO_AGENCY = ("COT-C", "Cotonou Centre")


@dataclass
class DemoOptions:
    """What the demo builds; later domains read their own sizes from here."""

    seed: int = 42
    service_points: int = 3000
    customers: int = 2000
    datasets_dir: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The network must have room for the customers (about 1.25 premises a connection).
        self.service_points = service_points_for(self.customers, self.service_points)


def demo_password() -> str:
    """One random demo password per installation, kept in the data folder (never in git)."""
    path = get_settings().data_dir / "demo_password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(9))
    return path.read_text().strip()


def build_staff(session: Session, _options: DemoOptions) -> str:
    password = demo_password()
    auth_service.get_or_create_agency(session, code=DEMO_AGENCY[0], name=DEMO_AGENCY[1])
    created = 0
    for role in Role:
        username = role.value.replace("_", ".")
        exists = session.scalar(
            select(func.count()).select_from(User).where(User.username == username)
        )
        if exists:
            continue
        # Field and desk staff belong to an agency; managers, analysts and admins see all.
        agency = (
            DEMO_AGENCY[0]
            if role in {Role.TECHNICIAN, Role.RECOVERY_AGENT, Role.CASHIER, Role.CUSTOMER_DESK}
            else None
        )
        auth_service.create_user(
            session,
            username=username,
            password=password,
            roles=[role.value],
            agency_code=agency,
            full_name=f"Demo {role.value}",
        )
        created += 1
    return f"{created} staff accounts created ({len(Role)} roles)"


# Each step is (title, fn). Domains append their own steps through the composition root.
DEMO_STEPS: list[tuple[str, Callable[[Session, DemoOptions], str]]] = [
    ("Staff accounts", build_staff),
    ("Network (real feeder ULAS628 + a generated town)", build_demo_network),
    ("Customers, meters and 24 months of reads", build_demo_customers),
    ("Tariffs, billing runs of the recent months, payments", build_demo_billing),
]


def build_demo(options: DemoOptions) -> None:
    for title, step in DEMO_STEPS:
        # A step with its own progress bars must not run under a spinner (one live display).
        own_bars = getattr(step, "shows_progress", False)
        with (
            nullcontext() if own_bars else console.status(f"{title} ..."),
            acting_as(SYSTEM, request_id="demo"),
            session_scope() as session,
        ):
            outcome = step(session, options)
        console.print(f"[green]✓[/] {title}: {outcome}")


def print_logins(url: str) -> None:
    password = demo_password()
    console.print(f"\n[bold]Kilowatch demo[/] on [link={url}]{url}[/link]")
    console.print(
        f"Sign in as [bold]admin[/] (or manager, technician, fraud.analyst, cashier ...)"
        f" with password [bold]{password}[/]\n"
    )
