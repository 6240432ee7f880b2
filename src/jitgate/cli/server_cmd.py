"""``jitgate server`` and ``jitgate up``: serve the API (the all-in-one demo adds the rest)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import uvicorn

from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings, open_engine
from jitgate.cli.output import Output, OutputOption, emit_message
from jitgate.core.db import make_session_factory
from jitgate.core.errors import JitgateError
from jitgate.core.logging import configure_logging
from jitgate.demo.allinone import UpOptions, run_up
from jitgate.demo.ready import UpError
from jitgate.server.app import create_app

if TYPE_CHECKING:
    from jitgate.core.settings import Settings


def check_port(host: str, port: int) -> None:
    """Refuse a port already in use in one line naming ``--port`` (uvicorn would log a trace)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            raise CliError(
                f"cannot listen on {host}:{port}: {err.strerror}; choose another port with "
                "--port or JITGATE_PORT"
            ) from err


def server(
    host: Annotated[str | None, typer.Option(help="Listen address (JITGATE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (JITGATE_PORT)")] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="HTTPS certificate, PEM (JITGATE_TLS_CERT_FILE)")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="HTTPS private key, PEM (JITGATE_TLS_KEY_FILE)")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Run the API server (the database must be migrated: `jitgate db upgrade`)."""
    settings = load_settings()
    cert_file = ssl_certfile or settings.tls_cert_file
    key_file = ssl_keyfile or settings.tls_key_file
    if (cert_file is None) != (key_file is None):
        raise CliError("HTTPS needs both --ssl-certfile and --ssl-keyfile", code=2)
    bind_host, bind_port = host or settings.host, port or settings.port
    check_port(bind_host, bind_port)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    engine = open_engine(settings)
    app = create_app(
        settings, sessions=make_session_factory(engine), run_reconciler=settings.reconciler_enabled
    )
    scheme = "https" if cert_file else "http"
    url = f"{scheme}://{bind_host}:{bind_port}"
    emit_message(f"jitgate server on {url}/api/v1 (docs: {url}/api/v1/docs)", output, url=url)
    uvicorn.run(
        app,
        **server_options(
            settings=settings, host=bind_host, port=bind_port, tls=(cert_file, key_file)
        ),
    )


def server_options(
    *,
    settings: Settings,
    host: str,
    port: int,
    tls: tuple[Path | None, Path | None] = (None, None),
) -> dict[str, Any]:
    """The uvicorn options of ``jitgate server``; its logs go through jitgate's handler.

    ``log_config=None``: uvicorn keeps the handlers ``configure_logging`` gave its loggers
    (JSON lines) instead of installing its own text format.
    """
    cert_file, key_file = tls
    return {
        "host": host,
        "port": port,
        "log_config": None,
        "log_level": "warning",
        "proxy_headers": True,
        "timeout_keep_alive": settings.http_keep_alive_s,
        "ssl_certfile": str(cert_file) if cert_file else None,
        "ssl_keyfile": str(key_file) if key_file else None,
    }


def up(
    port: Annotated[int | None, typer.Option(help="API port (JITGATE_PORT; 8080)")] = None,
    emulator_port: Annotated[
        int, typer.Option(help="The Graph emulator's HTTPS port (0: any free port)")
    ] = 8443,
    log_level: Annotated[
        str, typer.Option(help="Log level of the three parts (DEBUG, INFO, WARNING, ERROR)")
    ] = "WARNING",
    output: Output = OutputOption,
) -> None:
    """All-in-one demo in ./.jitgate: Graph emulator + server + connector, seeded; Ctrl+C stops."""
    settings = load_settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    configure_logging(log_level.upper(), json_lines=False)
    try:
        run_up(
            UpOptions(settings=settings, emulator_port=emulator_port),
            echo=lambda line: emit_message(line, output),
        )
    except (UpError, JitgateError) as err:
        raise CliError(str(err)) from err
    emit_message("jitgate up stopped", output)


def register(app: typer.Typer) -> None:
    """Attach ``server`` and ``up``."""
    app.command("server")(server)
    app.command("up")(up)
