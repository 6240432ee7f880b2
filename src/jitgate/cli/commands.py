"""The list of sub-command modules; each exposes ``register(app)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


def register(app: typer.Typer) -> None:
    """Attach every sub-command to ``app``."""
    from jitgate.cli import emulator_cmd  # noqa: PLC0415 - keeps `jitgate --help` import light

    emulator_cmd.register(app)
