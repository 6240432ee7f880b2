"""``jitgate server`` and ``jitgate up``: serve the API (the all-in-one demo adds the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings, open_engine, transaction
from jitgate.core.clock import SystemClock
from jitgate.core.db import make_session_factory
from jitgate.core.logging import configure_logging
from jitgate.core.migrate import upgrade
from jitgate.server.actor import Actor, Source
from jitgate.server.identities.models import UserRole
from jitgate.server.identities.operations import bootstrap_token
from jitgate.server.web.app import create_app

DEMO_ADMIN = "admin@jitgate.local"


def server(
    host: Annotated[str | None, typer.Option(help="Listen address (JITGATE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (JITGATE_PORT)")] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="HTTPS certificate, PEM (JITGATE_TLS_CERT_FILE)")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="HTTPS private key, PEM (JITGATE_TLS_KEY_FILE)")
    ] = None,
) -> None:
    """Run the API server (the database must be migrated: `jitgate db upgrade`)."""
    settings = load_settings()
    cert_file = ssl_certfile or settings.tls_cert_file
    key_file = ssl_keyfile or settings.tls_key_file
    if (cert_file is None) != (key_file is None):
        raise CliError("HTTPS needs both --ssl-certfile and --ssl-keyfile", code=2)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    engine = open_engine(settings)
    app = create_app(
        settings, sessions=make_session_factory(engine), run_engine=settings.reconciler_enabled
    )
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        proxy_headers=True,
        ssl_certfile=str(cert_file) if cert_file else None,
        ssl_keyfile=str(key_file) if key_file else None,
    )


def up(
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
) -> None:
    """All-in-one demo on SQLite in ./.jitgate: migrate, make an admin token, serve."""
    settings = load_settings()
    if port:
        settings = settings.model_copy(update={"port": port})
    configure_logging(settings.log_level, json_lines=False)
    engine = open_engine(settings, require_current=False)
    upgrade(engine)
    actor = Actor(identity_id=None, name="jitgate up", role=UserRole.ADMIN, source=Source.CLI)
    with transaction(engine) as session:
        token = bootstrap_token(
            session=session,
            clock=SystemClock(),
            actor=actor,
            upn=DEMO_ADMIN,
            role=UserRole.ADMIN,
            name="jitgate up",
            expires_in_days=30,
        )
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(
        "\n".join(
            [
                "jitgate is running",
                f"  API:         {url}/api/v1",
                f"  API docs:    {url}/api/v1/docs",
                f"  admin token: {token}  ({DEMO_ADMIN})",
                f"  CLI:         jitgate login --url {url} --token {token}",
                f"  database:    {engine.url.render_as_string()}",
                "Press Ctrl+C to stop.",
            ]
        )
    )
    app = create_app(
        settings, sessions=make_session_factory(engine), run_engine=settings.reconciler_enabled
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Attach ``server`` and ``up``."""
    app.command("server")(server)
    app.command("up")(up)
