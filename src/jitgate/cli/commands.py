"""The list of sub-command modules; each exposes ``register(app)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.cli import (
    admin_cmd,
    audit_cmd,
    catalog_cmd,
    connector_cmd,
    demo_cmd,
    emulator_cmd,
    login_cmd,
    reconcile_cmd,
    request_cmd,
    server_cmd,
)

if TYPE_CHECKING:
    import typer

MODULES = (
    server_cmd,
    demo_cmd,
    admin_cmd,
    login_cmd,
    catalog_cmd,
    request_cmd,
    audit_cmd,
    emulator_cmd,
    connector_cmd,
    reconcile_cmd,
)


def register(app: typer.Typer) -> None:
    """Attach every sub-command to ``app``."""
    for module in MODULES:
        module.register(app)
