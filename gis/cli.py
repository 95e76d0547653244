"""The ``kilowatch network`` commands: import, export, trace and retrace feeders."""

from __future__ import annotations

import typer

network_app = typer.Typer(
    help="The electrical network: import, export, traces.", no_args_is_help=True
)

# Synthetic networks (gis.generator): `kilowatch network generate`.
from gis.generator.cli import generate_command  # noqa: E402

network_app.command("generate")(generate_command)
