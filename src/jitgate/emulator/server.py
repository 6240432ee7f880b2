"""Serving the emulator over loopback HTTPS with uvicorn, in the foreground or a thread.

``start_in_thread`` is what tests and ``jitgate up`` use: it binds port 0 (or the given port),
waits until the server accepts connections, and returns the URLs and the CA bundle to trust.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

from jitgate.emulator.app import create_app
from jitgate.emulator.tls import ensure_tls

if TYPE_CHECKING:
    from pathlib import Path

    from jitgate.emulator.state import EmulatorState

STARTUP_TIMEOUT_S = 15.0


@dataclass
class RunningEmulator:
    """A started emulator: where it listens and how to stop it."""

    state: EmulatorState
    authority_host: str
    graph_url: str
    ca_bundle: Path
    server: uvicorn.Server
    thread: threading.Thread | None = None
    #: the plain-HTTP loopback listener for the browser pages (``browser_base_url``), if any
    browser_url: str | None = None
    browser_server: uvicorn.Server | None = None
    browser_thread: threading.Thread | None = None

    def info(self) -> dict[str, Any]:
        """Return the connection details (the JSON line the CLI prints)."""
        return {
            "authority_host": self.authority_host,
            "graph_url": self.graph_url,
            "ca_bundle": str(self.ca_bundle),
            "tenant_id": self.state.tenant.tenant_id,
            "client_id": self.state.client_id,
            "client_secret": self.state.client_secret,
            "browser_base_url": self.browser_url,
        }

    def stop(self) -> None:
        """Ask the servers to exit and wait for their threads."""
        for server in (self.server, self.browser_server):
            if server is not None:
                server.should_exit = True
                server.force_exit = True
        for thread in (self.thread, self.browser_thread):
            if thread is not None:
                thread.join(timeout=STARTUP_TIMEOUT_S)


class _Server(uvicorn.Server):
    """uvicorn, aborting at shutdown the connections a graceful close would leave open.

    Closing a TLS connection waits for the peer's close_notify; a client that keeps an idle
    keep-alive connection (a ``requests`` session, say) never sends it, and the server's loop
    would end with that transport still open. Abort what is left instead.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        for connection in list(self.server_state.connections):
            connection.transport.abort()
        await asyncio.sleep(0)  # the aborted transports close on the next loop iteration


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def prepare(
    state: EmulatorState, *, host: str, port: int, data_dir: Path
) -> tuple[RunningEmulator, socket.socket]:
    """Create TLS files, bind the socket and build (not start) the uvicorn server."""
    tls = ensure_tls(data_dir, (host,))
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    base = f"https://{shown}:{bound_port}"
    config = uvicorn.Config(
        create_app(state),
        ssl_certfile=str(tls.cert_file),
        ssl_keyfile=str(tls.key_file),
        log_config=None,  # keep jitgate's handlers on uvicorn's loggers (core.logging)
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    return RunningEmulator(state, base, f"{base}/v1.0", tls.ca_bundle, server), sock


def _serve(server: uvicorn.Server, sock: socket.socket, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)
    return thread


def _browser_listener(
    state: EmulatorState, host: str, port: int
) -> tuple[uvicorn.Server, socket.socket, str]:
    """Plain HTTP on loopback, serving only the sign-in pages (a demo convenience)."""
    sock = _bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        create_app(state, browser_only=True),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    return _Server(config), sock, url


def start_in_thread(
    state: EmulatorState,
    *,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    browser_port: int | None = None,
) -> RunningEmulator:
    """Serve ``state`` over HTTPS in a daemon thread; return once it accepts connections.

    With ``browser_port`` (0: any free port) a second, plain-HTTP loopback listener serves the
    browser pages only, and ``state.settings.browser_base_url`` points discovery at it.
    """
    running, sock = prepare(state, host=host, port=port, data_dir=data_dir)
    if browser_port is not None:
        start_browser_listener(running, host=host, port=browser_port)
    running.thread = _serve(running.server, sock, "jitgate-emulator")
    return running


def start_browser_listener(running: RunningEmulator, *, host: str, port: int) -> str:
    """Serve the browser pages on plain HTTP in a thread; point discovery at it; return its URL."""
    server, sock, url = _browser_listener(running.state, host, port)
    running.browser_server, running.browser_url = server, url
    running.state.settings.browser_base_url = url
    running.browser_thread = _serve(server, sock, "jitgate-emulator-browser")
    return url
