"""An idle connection stays open for ``http_keep_alive_s``, then the server closes it.

uvicorn's own default (5 s) equals httpx's pool expiry (5 s): a client reusing a connection just
as the server drops it gets no answer at all (``RemoteProtocolError``). Under a 100-client load on
PostgreSQL that lost about one call in 200. The server's idle timeout is therefore a setting,
longer than the clients' and proxies' own, and both ways of serving (``jitgate server`` and the
all-in-one demo) pass it to uvicorn.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.live_server import read_response, status_of

from jitgate.cli.main import run
from jitgate.core.settings import Settings
from jitgate.demo.allinone import ServerThread

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _ping_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    return app


@pytest.fixture
def served() -> Iterator[int]:
    thread = ServerThread(_ping_app(), "127.0.0.1", 0, keep_alive_s=2)
    thread.start()
    try:
        yield thread.port
    finally:
        thread.stop()


def test_an_idle_connection_is_kept_for_the_setting_then_closed(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=10) as sock:
        sock.sendall(REQUEST)
        assert status_of(read_response(sock)) == httpx.codes.OK
        time.sleep(1)  # idle, but within the 2 s keep-alive
        sock.sendall(REQUEST)
        assert status_of(read_response(sock)) == httpx.codes.OK
        time.sleep(3)  # idle past it: the server has closed its end
        assert sock.recv(1) == b""


def test_the_default_outlasts_the_idle_timeout_of_clients_and_proxies() -> None:
    httpx_expiry = httpx.Limits().keepalive_expiry
    assert httpx_expiry is not None
    assert Settings().http_keep_alive_s > max(httpx_expiry, 60)


def test_jitgate_server_passes_the_setting_to_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seen: dict[str, Any] = {}

    def uvicorn_run(app: object, **options: Any) -> None:
        seen.update(options)

    monkeypatch.setattr(uvicorn, "run", uvicorn_run)
    monkeypatch.setenv("JITGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JITGATE_HTTP_KEEP_ALIVE_S", "17")
    monkeypatch.setenv("JITGATE_PORT", "0")  # `server` checks its port is free; 8080 may not be
    assert run(["db", "upgrade"]) == 0
    assert run(["server"]) == 0
    assert seen["timeout_keep_alive"] == 17
