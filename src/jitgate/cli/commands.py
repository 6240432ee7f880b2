"""Which module provides each sub-command; only the one a command line needs is imported.

Importing every command module pulls in the server, the connector, the Graph client and the
emulator (seconds of start-up); a command line needs one of them. Help, no command, or an
unknown command load them all, so the listing and click's suggestions stay complete.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

# Command name -> the module (in ``jitgate.cli``) whose ``register(app)`` attaches it.
COMMANDS: dict[str, str] = {
    "server": "server_cmd",
    "up": "server_cmd",
    "demo": "demo_cmd",
    "db": "admin_cmd",
    "admin": "admin_cmd",
    "login": "login_cmd",
    "whoami": "login_cmd",
    "catalog": "catalog_cmd",
    "connectors": "catalog_cmd",
    "integrations": "catalog_cmd",
    "flows": "catalog_cmd",
    "request": "request_cmd",
    "grants": "request_cmd",
    "standing": "standing_cmd",
    "available": "people_cmd",
    "people": "people_cmd",
    "tokens": "people_cmd",
    "audit": "audit_cmd",
    "emulator": "emulator_cmd",
    "connector": "connector_cmd",
    "reconcile": "reconcile_cmd",
    "sync": "reconcile_cmd",
    "drift": "reconcile_cmd",
}

MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


def modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules a command line needs."""
    name = next((arg for arg in argv if not arg.startswith("-")), None)
    if name is None or name not in COMMANDS:
        return MODULES
    return (COMMANDS[name],)


def register(app: typer.Typer, argv: list[str] | None = None) -> None:
    """Attach the sub-commands ``argv`` needs (every one when ``argv`` is None)."""
    names = MODULES if argv is None else modules_for(argv)
    for name in names:
        importlib.import_module(f"jitgate.cli.{name}").register(app)
