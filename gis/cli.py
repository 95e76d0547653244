"""The ``kilowatch network`` commands: import, export, trace and retrace feeders."""

from __future__ import annotations

import typer

network_app = typer.Typer(
    help="The electrical network: import, export, traces.", no_args_is_help=True
)
# Import, export, trace, retrace, switch (gis.io, gis.topology): see gis/topology_cli.py.
from gis.topology_cli import register as _register_topology_commands  # noqa: E402

_register_topology_commands(network_app)

# Synthetic networks (gis.generator): `kilowatch network generate`.
from gis.generator.cli import generate_command  # noqa: E402

network_app.command("generate")(generate_command)
