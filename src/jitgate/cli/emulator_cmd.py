"""``jitgate emulator``: the Microsoft Graph + Entra sign-in emulator (filled in by the emulator work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the ``emulator`` command."""

    @app.command("emulator")
    def emulator() -> None:
        """Run the Graph and sign-in emulator over HTTPS on loopback."""
        typer.echo("the emulator is not built yet", err=True)
        raise typer.Exit(code=2)
