"""The ``jitgate`` command: server, connector, emulator, admin and API client sub-commands.

Nothing runs at import time; each command builds its settings and objects when it runs.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="jitgate",
    help="Just-in-time access broker for Microsoft Entra ID groups and roles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    """Attach every sub-command module to the root app."""
    from jitgate.cli import commands  # noqa: PLC0415 - registration happens once, at entry

    commands.register(app)


def main() -> None:
    """Entry point of the ``jitgate`` console script."""
    _register()
    app()
