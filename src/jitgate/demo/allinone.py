"""``jitgate up``: emulator + server + in-process connector on SQLite, seeded, in one process.

This is the only module that composes the three parts; each is configured exactly as it would
be on its own:

* the **emulator** serves the demo tenant over HTTPS on loopback (its CA, certificate and signing
  key live in ``<data dir>/emulator``), in a thread;
* the **server** is ``create_app`` with the reconciler loop on and a 1 s tick, served by uvicorn
  in a second thread (its own event loop);
* the **connector** is the real agent (``run_agent``) on the main event loop, talking to the
  server over loopback HTTP and to the emulator over HTTPS with the emulator's CA bundle and the
  emulator app's client credentials.

**One demo clock.** The server, the connector and the emulator share one clock: the system clock
plus an offset that only the emulator's ``POST /_emulator/clock/advance`` moves (``jitgate demo
--fast`` uses it to reach a grant's expiry without waiting). On start the offset resumes from the
newest audit event, so the demo's time never runs backwards across restarts.

Ctrl+C (or SIGTERM) stops the agent (it releases what it holds), then the server (the reconciler
finishes its tick), then the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from pydantic import SecretStr
from sqlalchemy import func, select

from jitgate.connector.agent import run_agent
from jitgate.connector.config import AgentConfig
from jitgate.core.clock import OffsetClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.files import ensure_private_dir
from jitgate.core.migrate import upgrade
from jitgate.demo import seed, signin
from jitgate.demo.info import DemoInfo, DemoPerson, EmulatorInfo, save_info
from jitgate.demo.ready import UpError, Waiting, free_port, until_ready
from jitgate.emulator.portal_apps import CLI_APP_ID, PORTAL_APP_ID
from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state
from jitgate.emulator.tokens import SigningKey
from jitgate.server.app import create_app
from jitgate.server.audit.keys import bind_key_ring, load_ring
from jitgate.server.audit.models import AuditEvent
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Resource

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.settings import Settings
    from jitgate.emulator.server import RunningEmulator

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 15.0
DEFAULT_DATA_DIR = Path(".jitgate")


@dataclass(frozen=True)
class UpOptions:
    """How to run the all-in-one demo."""

    settings: Settings
    emulator_port: int = 8443
    tick_s: float = 1.0
    discovery_timeout_s: float = 60.0


def demo_clock(sessions: sessionmaker[Session]) -> OffsetClock:
    """The shared clock, resumed from the newest audit event if that lies ahead of now."""
    clock = OffsetClock()
    with sessions() as session:
        latest = session.scalar(select(func.max(AuditEvent.at)))
    now = clock.now()
    if latest is not None and latest > now:
        clock.advance(latest - now)
    return clock


class ServerThread:
    """The server app under uvicorn in its own thread and event loop."""

    def __init__(self, app: object, host: str, port: int, *, keep_alive_s: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as err:
            self.sock.close()
            raise UpError(
                f"cannot listen on {host}:{port}: {err.strerror}; choose another port with "
                f'--port (`make up ARGS="--port 9090"`) or JITGATE_PORT'
            ) from err
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            log_config=None,  # keep jitgate's handlers on uvicorn's loggers (core.logging)
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=keep_alive_s,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            daemon=True,
            name="jitgate-server",
        )

    def start(self) -> None:
        """Start serving; return once the server accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise UpError("the server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit (lifespan stops the reconciler) and wait."""
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_TIMEOUT_S)
        self.sock.close()


@dataclass
class _Parts:
    settings: Settings
    sessions: sessionmaker[Session]
    clock: OffsetClock
    emulator: RunningEmulator
    server: ServerThread | None = None
    agent: asyncio.Task[object] | None = None
    # The portal app's client secret (register_portal_app), for the server's OIDC settings.
    portal_client_secret: str = ""

    @property
    def url(self) -> str:
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        port = self.server.port if self.server else self.settings.port
        return f"http://{shown}:{port}"


def run_up(options: UpOptions, *, echo: Callable[[str], None]) -> None:
    """Run the demo until SIGINT/SIGTERM; raise ``UpError`` if it cannot start."""
    asyncio.run(_main(options, echo))


async def _main(options: UpOptions, echo: Callable[[str], None]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings = options.settings.model_copy(
        update={
            "reconciler_enabled": True,
            "reconcile_interval_s": options.tick_s,
            "metrics_open": True,  # the demo's Prometheus view needs no token
            # --port 0: a free port now, so the portal's sign-in redirect is known up front
            "port": options.settings.port or free_port(options.settings.host),
        }
    )
    ensure_private_dir(settings.data_dir)
    # the server's lanes, plus the demo's own reads (its clock, the seeding) on this one pool
    engine = make_engine(
        settings.resolved_database_url(),
        pool_size=settings.pool_size() + 4,
        slow_tx_s=settings.db_slow_tx_s,
    )
    bind_key_ring(engine, load_ring(settings))
    try:
        await asyncio.to_thread(upgrade, engine)
        sessions = make_session_factory(engine)
        clock = demo_clock(sessions)
        emulator = await asyncio.to_thread(_start_emulator, settings, clock, options.emulator_port)
        parts = _Parts(settings, sessions, clock, emulator)
        try:
            await _run(parts, options, stop, echo)
        finally:
            await _stop(parts, stop)
    finally:
        engine.dispose()


def _start_emulator(settings: Settings, clock: OffsetClock, port: int) -> RunningEmulator:
    directory = settings.data_dir / "emulator"
    directory.mkdir(parents=True, exist_ok=True)
    state = build_state(
        seed="demo",
        clock=clock,
        signing_key=SigningKey.load_or_create(directory / "signing-key.pem"),
    )
    try:
        # browser_port: the sign-in pages also on plain HTTP (no certificate warning)
        return start_in_thread(state, data_dir=directory, port=port, browser_port=0)
    except OSError as err:
        raise UpError(
            f"the emulator cannot listen on 127.0.0.1:{port}: {err.strerror}; choose another "
            'port with --emulator-port (`make up ARGS="--emulator-port 0"`: any free port)'
        ) from err


async def _run(
    parts: _Parts, options: UpOptions, stop: asyncio.Event, echo: Callable[[str], None]
) -> None:
    with parts.sessions() as session:
        connector, token = seed.ensure_connector(session=session, clock=parts.clock)
        integration = seed.ensure_integration(
            session=session, clock=parts.clock, connector=connector
        )
        session.commit()
    planned = parts.url
    parts.portal_client_secret = signin.register_portal(parts.emulator.state, planned)
    parts.settings = _with_sign_in(parts)
    app = create_app(
        parts.settings, clock=parts.clock, sessions=parts.sessions, run_reconciler=True
    )
    parts.server = ServerThread(
        app, parts.settings.host, parts.settings.port, keep_alive_s=parts.settings.http_keep_alive_s
    )
    await asyncio.to_thread(parts.server.start)
    if parts.url != planned:  # --port 0: the callback is on the port the server got
        signin.move_portal(parts.emulator.state, parts.url)
    config = _agent_config(parts, token)
    parts.agent = asyncio.create_task(
        run_agent(config, stop_event=stop, clock=parts.clock), name="jitgate-connector"
    )
    await until_ready(
        Waiting(parts.sessions, parts.clock, parts.agent, integration.id, connector.id),
        options.discovery_timeout_s,
        stop,
    )
    if stop.is_set():
        return
    with parts.sessions() as session:
        people = seed.ensure_people(session=session, clock=parts.clock)
        flows = seed.ensure_flows(session=session, clock=parts.clock, integration=integration)
        session.commit()
    info = DemoInfo(
        url=parts.url,
        integration_id=integration.id,
        demo_group=seed.DEMO_GROUP,
        people={
            key: DemoPerson(upn=spec.upn, display_name=name, role=str(spec.role), token=token)
            for key, (spec, name, token) in people.items()
        },
        emulator=EmulatorInfo.model_validate(parts.emulator.info()),
        sign_in=signin.sign_in_info(
            parts.emulator.state,
            portal_client_secret=parts.portal_client_secret,
            browser_base_url=parts.emulator.browser_url,
        ),
    )
    save_info(parts.settings.data_dir, info)
    echo(_banner(parts, info, flows))
    await _wait(stop, parts.agent)
    echo("stopping: connector, server and emulator (Ctrl+C)")


def _with_sign_in(parts: _Parts) -> Settings:
    """The server's settings with portal sign-in through the emulated tenant's portal app."""
    emulator = parts.emulator
    return parts.settings.model_copy(
        update={
            "base_url": parts.url,
            "oidc_tenant": emulator.state.tenant.tenant_id,
            "oidc_client_id": PORTAL_APP_ID,
            "oidc_client_secret": SecretStr(parts.portal_client_secret),
            "oidc_authority_host": emulator.authority_host,
            "oidc_ca_bundle": emulator.ca_bundle,
            "oidc_cli_client_id": CLI_APP_ID,
        }
    )


def _agent_config(parts: _Parts, token: str) -> AgentConfig:
    emulator = parts.emulator
    return AgentConfig(
        url=parts.url,
        token=token,
        instance_key="jitgate-up",
        tenant_id=emulator.state.tenant.tenant_id,
        client_id=emulator.state.client_id,
        client_secret=emulator.state.client_secret,
        authority_host=emulator.authority_host,
        graph_url=emulator.authority_host,
        graph_ca_bundle=emulator.ca_bundle,
        disable_instance_discovery=True,
        tier=emulator.state.settings.tier,
        drain_timeout_s=5.0,
        # Short long-polls: on Ctrl+C the server waits for open claims (at most this long).
        claim_wait_s=2.0,
        metadata={"mode": "jitgate up (in-process)"},
    )


async def _wait(stop: asyncio.Event, agent: asyncio.Task[object] | None) -> None:
    waiter: asyncio.Task[object] = asyncio.create_task(stop.wait())
    tasks = {waiter}
    if agent is not None:
        tasks.add(agent)
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if agent is not None and agent.done() and not stop.is_set():
        raise UpError(f"the connector stopped: {agent.exception()!r}")


async def _stop(parts: _Parts, stop: asyncio.Event) -> None:
    stop.set()
    if parts.agent is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(parts.agent, timeout=15)
    if parts.server is not None:
        await asyncio.to_thread(parts.server.stop)
    await asyncio.to_thread(parts.emulator.stop)


def _counts(parts: _Parts, integration_id: str) -> tuple[int, int]:
    with parts.sessions() as session:
        resources = session.scalar(
            select(func.count(Resource.id)).where(
                Resource.integration_id == integration_id, Resource.removed_at.is_(None)
            )
        )
        identities = session.scalar(select(func.count(Identity.id)))
    return resources or 0, identities or 0


def _path_hint() -> list[str]:
    """A banner line saying how to put ``jitgate`` on PATH, when it is not there."""
    installed = Path(sys.executable).parent
    if shutil.which("jitgate") or not (installed / "jitgate").exists():
        return []
    return [f'  on PATH:      export PATH="{installed}:$PATH"   (jitgate is not on PATH yet)']


def _banner(parts: _Parts, info: DemoInfo, flows: list[str]) -> str:
    resources, identities = _counts(parts, info.integration_id)
    emulator = info.emulator
    openid = f"{emulator.authority_host}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    admin = info.people["admin"]
    discovered = f"{resources} resources, {identities} identities discovered"
    demo = "jitgate demo"
    data_dir_flag = ""
    if parts.settings.data_dir != DEFAULT_DATA_DIR:
        data_dir_flag = f" --data-dir {parts.settings.data_dir}"
        demo += data_dir_flag
    lines = [
        "jitgate is running: emulator + server + connector (all in one process, SQLite)",
        f"  portal:       {info.url}/  (sign in as one of the people below)",
        f"  API:          {info.url}/api/v1",
        f"  API docs:     {info.url}/api/v1/docs  (ReDoc: {info.url}/api/v1/redoc)",
        # Only links that open: the emulator's hosts answer nothing at their root.
        f"  emulator:     {emulator.authority_host}/_emulator/state  (Graph, sign-in: this host)",
        # The sign-in page itself needs an app's client_id and redirect URI: name its metadata.
        f"  sign-in:      {openid}",
        f"  CA bundle:    {emulator.ca_bundle}",
        f"  connector:    {seed.CONNECTOR_NAME}  CONNECTED",
        f"  integration:  {seed.INTEGRATION_NAME}  ({discovered})",
        "  flows:        " + "\n                ".join(flows),
    ]
    for key, person in info.people.items():
        label = f"{key} token:".ljust(17)
        lines.append(f"  {label} {person.token}  ({person.display_name}, {person.upn})")
    if info.sign_in is not None:
        lines += signin.banner_lines(info.sign_in, data_dir_flag)
    lines += [
        f"  CLI:          jitgate login --url {info.url} --token {admin.token}",
        (
            f"  CLI (Entra):  jitgate login --browser --url {info.url} "
            f"--ca-bundle {emulator.ca_bundle}"
        ),
        *_path_hint(),
        f"  demo:         {demo} --fast   (or `{demo}`: a real 1-minute expiry)",
        f"  data dir:     {parts.settings.data_dir}",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)
