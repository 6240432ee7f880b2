"""``jitgate connector run``: the connector agent (Graph credentials from its own environment)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from jitgate.cli.errors import CliError
from jitgate.cli.output import Output, OutputOption, emit_message
from jitgate.connector.agent import run_agent
from jitgate.connector.client import ServerRefusedError
from jitgate.connector.config import AgentConfig
from jitgate.core.logging import configure_logging

connector_app = typer.Typer(help="The connector agent that runs jobs with Microsoft Graph.")


@connector_app.command("run")
def run(
    url: Annotated[str | None, typer.Option(help="Server URL (JITGATE_CONNECTOR_URL)")] = None,
    token: Annotated[
        str | None, typer.Option(help="Connector token jg_ct_… (JITGATE_CONNECTOR_TOKEN)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML/JSON settings file (Graph credentials, tuning)")
    ] = None,
    health_port: Annotated[int | None, typer.Option(help="Serve /healthz on this port")] = None,
    instance_key: Annotated[str | None, typer.Option(help="This instance's id")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once")] = None,
    server_ca_bundle: Annotated[
        Path | None, typer.Option(help="CA bundle (PEM) that signed the server's certificate")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Register with the server, then claim and run jobs until SIGTERM/SIGINT."""
    try:
        settings = AgentConfig.load(
            config,
            url=url,
            token=token,
            health_port=health_port,
            instance_key=instance_key,
            concurrency=concurrency,
            server_ca_bundle=server_ca_bundle,
        )
    except (ValidationError, ValueError, OSError) as err:
        raise CliError(f"connector settings: {_first_line(err)}", code=2) from err
    configure_logging("INFO", json_lines=True)
    emit_message(f"connector starting against {settings.url}", output, url=str(settings.url))
    try:
        asyncio.run(_main(settings))
    except ServerRefusedError as err:
        raise CliError(f"the server refused the connector: {err}") from err


async def _main(settings: AgentConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_agent(settings, stop_event=stop)


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def register(app: typer.Typer) -> None:
    """Attach the ``connector`` command group."""
    app.add_typer(connector_app, name="connector")
