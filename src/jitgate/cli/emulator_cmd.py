"""``jitgate emulator``: the Microsoft Graph + Entra sign-in emulator over HTTPS on loopback.

On start it prints one JSON line (authority_host, graph_url, ca_bundle, tenant_id, client_id,
client_secret) and then serves until interrupted.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jitgate.cli.output import Output
from jitgate.emulator.server import prepare, start_browser_listener
from jitgate.emulator.settings import EmulatorSettings, FaultRule
from jitgate.emulator.state import build_state
from jitgate.emulator.tokens import SigningKey

DEFAULT_DATA_DIR = Path(".jitgate/emulator")


def _fault(text: str) -> FaultRule:
    """Parse ``STATUS[:ROUTE][@PROBABILITY|xCOUNT]``, e.g. ``503:POST /v1.0/$batch@0.1``."""
    count = None
    probability = 1.0
    if "@" in text:
        text, _, chance = text.rpartition("@")
        probability = float(chance)
    elif "x" in text.rsplit(":", 1)[-1]:
        text, _, times = text.rpartition("x")
        count = int(times)
    status, _, route = text.partition(":")
    return FaultRule(route=route or "*", status=int(status), probability=probability, count=count)


def register(app: typer.Typer) -> None:
    """Attach the ``emulator`` command."""

    @app.command("emulator")
    def emulator(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback)."),
        port: int = typer.Option(8443, help="Port to listen on (0: any free port)."),
        seed: str = typer.Option("demo", help="Tenant fixture YAML file, or 'demo', or 'empty'."),
        tier: str = typer.Option("S", help="Tenant size tier for throttling: S, M or L."),
        data_dir: Path = typer.Option(
            DEFAULT_DATA_DIR, help="Where the CA, certificate and signing key live."
        ),
        users: int = typer.Option(0, help="Add this many synthetic users."),
        groups: int = typer.Option(
            0, help="Add this many synthetic groups (with owners and members)."
        ),
        throttling: bool = typer.Option(
            default=True, help="Throttle like Graph (--no-throttling: off)."
        ),
        latency_ms: float = typer.Option(0.0, help="Fixed latency added to every response."),
        jitter_ms: float = typer.Option(0.0, help="Random extra latency, up to this many ms."),
        replication_lag_ms: float = typer.Option(0.0, help="Reads lag writes by this many ms."),
        fault: list[str] = typer.Option(
            [], help="Inject errors: STATUS[:ROUTE][@PROB|xCOUNT]; 0 drops the connection."
        ),
        browser_port: int | None = typer.Option(
            None,
            help="Also serve the sign-in pages on plain HTTP on this loopback port (0: any), "
            "so a browser needs no CA; a demo convenience.",
        ),
        output: Output = typer.Option(
            Output.JSON, "--output", "-o", help="json (one line, for scripts) or table"
        ),
    ) -> None:
        """Run the Graph and sign-in emulator over HTTPS on loopback."""
        settings = EmulatorSettings(
            tier=tier.upper(),
            throttling=throttling,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            replication_lag_ms=replication_lag_ms,
            faults=[_fault(f) for f in fault],
        )
        settings.update({"tier": tier})
        data_dir.mkdir(parents=True, exist_ok=True)
        state = build_state(
            seed=None if seed == "empty" else seed,
            settings=settings,
            signing_key=SigningKey.load_or_create(data_dir / "signing-key.pem"),
            generate={"users": users, "groups": groups} if users or groups else None,
        )
        running, sock = prepare(state, host=host, port=port, data_dir=data_dir)
        if browser_port is not None:
            start_browser_listener(running, host=host, port=browser_port)
        info = running.info()
        if output is Output.JSON:
            typer.echo(json.dumps(info))
        else:
            for key, value in info.items():
                typer.echo(f"{key}: {value}")
        running.server.run(sockets=[sock])
