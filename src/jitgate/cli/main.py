"""The ``jitgate`` command: server, connector, emulator, admin and API client sub-commands.

Nothing runs at import time; each command builds its settings and objects when it runs. Every
failure a user can cause ends as one readable line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import sys

import httpx
import typer
import typer.main
from pydantic import ValidationError

from jitgate.cli import commands
from jitgate.cli.errors import CliError
from jitgate.core.errors import JitgateError


def build_app(argv: list[str]) -> typer.Typer:
    """A root app with the sub-commands ``argv`` needs (all of them for help or a typo)."""
    app = typer.Typer(
        name="jitgate",
        help="Just-in-time access broker for Microsoft Entra ID groups and roles.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    # A callback keeps the root a group even when only one sub-command is registered
    # (Typer would otherwise run that lone command as the root and refuse its name).
    app.callback()(_root)
    commands.register(app, argv)
    return app


def _root() -> None:
    """Just-in-time access broker for Microsoft Entra ID groups and roles."""


def hide_flag_types(command: object) -> None:
    """Show nothing in the help's type column for flags (Typer's rich help prints ``<bool>``).

    A flag takes no value, so there is no type to show; Typer's help prints an option's metavar
    in that column when it has one, so flags get an empty one. The help option is made here
    (click caches it on the command) so that it gets the same.
    """
    make_help = getattr(command, "get_help_option", None)
    helper = make_help(typer.Context(command)) if callable(make_help) else None  # type: ignore[arg-type]
    for param in [*getattr(command, "params", []), *([helper] if helper else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        hide_flag_types(sub)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (used by ``main`` and by tests)."""
    argv = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(build_app(argv))
    hide_flag_types(command)
    try:
        status = command.main(args=argv, standalone_mode=False)
    except (
        typer.TyperException,
        typer.Abort,
        CliError,
        JitgateError,
        ValidationError,
        httpx.HTTPError,
        OSError,
    ) as err:
        return _report(err)
    return status if isinstance(status, int) else 0


def _report(err: Exception) -> int:
    """Print one line for ``err`` and return the exit status."""
    code = 1
    format_message = getattr(err, "format_message", None)
    if isinstance(err, typer.TyperException) and callable(format_message):
        # Click's usage errors print three lines (usage, hint, error); one line says it all.
        message = str(format_message()).replace("\n", " ").strip()
        code = int(getattr(err, "exit_code", 2))
        if not message:  # a group run without a command has printed its help already
            return code
        command = getattr(getattr(err, "ctx", None), "command_path", None)
        if command:
            message = f"{message} (see `{command} --help`)"
    elif isinstance(err, typer.Abort):
        message = "aborted"
    elif isinstance(err, CliError):
        message, code = err.message, err.code
    elif isinstance(err, JitgateError):
        message = err.detail
    elif isinstance(err, ValidationError):
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        message, code = f"{field}: {first['msg']}", 2
    elif isinstance(err, httpx.HTTPError):
        message = f"cannot reach the server: {err}"
    else:
        message = str(err)
    typer.echo(f"error: {message}", err=True)
    return code


def main() -> None:
    """Entry point of the ``jitgate`` console script."""
    sys.exit(run())
