"""CLI fixtures: a real database file (committed, not rolled back) and a live API server."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import pytest
import uvicorn

from jitgate.core.clock import SystemClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.server.app import create_app
from jitgate.server.audit.keys import bind_key_ring, load_ring
from polling import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def database_url(committed_url) -> str:
    """A migrated database that commits for real (SQLite file or a fresh PostgreSQL database)."""
    engine = make_engine(committed_url)
    upgrade(engine)
    engine.dispose()
    return committed_url


@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):
    """Point the CLI at the test database and a private config directory."""
    monkeypatch.setenv("JITGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("JITGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JITGATE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("JITGATE_URL", raising=False)
    monkeypatch.delenv("JITGATE_TOKEN", raising=False)
    return database_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(cli_env) -> Iterator[str]:
    """The API served over loopback HTTP by uvicorn in a thread."""
    port = _free_port()
    settings = Settings(database_url=cli_env, log_json=False)
    engine = make_engine(cli_env)
    bind_key_ring(engine, load_ring(settings))  # as the server binds its own engine
    app = create_app(settings, clock=SystemClock(), sessions=make_session_factory(engine))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=10, interval_s=0.02, message="the test server")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
