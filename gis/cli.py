"""The ``kilowatch network`` commands: import, export, trace and retrace feeders."""

from __future__ import annotations

import typer

network_app = typer.Typer(
    help="The electrical network: import, export, traces.", no_args_is_help=True
)
