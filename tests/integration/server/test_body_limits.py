"""Request bodies are limited while they stream: an oversized body is never read whole.

The requests carry valid tokens: without one a body is refused before it is read
(``test_auth_before_body.py``).
"""

from __future__ import annotations

import json
import select
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from factories import bearer, make_connector, make_identity
from jitgate.core.clock import SystemClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.server.app import create_app
from live_server import read_response, serve, status_of

if TYPE_CHECKING:
    from collections.abc import Iterator

LIMIT = 64 * 1024
CONNECTOR_LIMIT = 128 * 1024
TOTAL = 8 * 1024 * 1024
CHUNK = 16 * 1024


@dataclass(frozen=True)
class Server:
    """A running API and the Authorization lines of a person and of a connector."""

    port: int
    user: bytes
    connector: bytes

    def auth(self, path: str) -> bytes:
        """The Authorization line that the endpoint at ``path`` accepts."""
        return self.connector if path.startswith("/api/connector/") else self.user


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    """The API on a loopback port with small body limits."""
    url = f"sqlite:///{tmp_path}/limits.db"
    engine = make_engine(url)
    upgrade(engine)
    clock = SystemClock()
    with Session(engine) as session:
        alice = make_identity(session, clock, "alice@contoso.example")
        user = bearer(session, clock, alice)["Authorization"]
        _, connector = make_connector(session, clock)
    settings = Settings(
        database_url=url,
        log_json=False,
        request_body_limit_bytes=LIMIT,
        connector_body_limit_bytes=CONNECTOR_LIMIT,
    )
    app = create_app(settings, clock=clock, sessions=make_session_factory(engine))
    with serve(app) as port:
        yield Server(
            port=port,
            user=b"Authorization: " + user.encode() + b"\r\n",
            connector=b"Authorization: Bearer " + connector.encode() + b"\r\n",
        )
    engine.dispose()


def _send_until_answered(server: Server, path: str, *, chunked: bool) -> tuple[int, bytes]:
    """Stream a huge body until the server answers; return bytes sent and the answer."""
    framing = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {TOTAL}".encode()
    head = (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    ) + server.auth(path)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + framing + b"\r\n\r\n")
        piece = b"a" * CHUNK
        while sent < TOTAL:
            if select.select([sock], [], [], 0.01)[0]:
                break
            data = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            try:
                sock.sendall(data)
            except OSError:
                break
            sent += CHUNK
        answer = read_response(sock)
    return sent, answer


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_is_answered_before_it_is_sent(server, chunked) -> None:
    """Content-Length and chunked bodies over the limit get 413 long before the end."""
    sent, answer = _send_until_answered(server, "/api/v1/requests", chunked=chunked)
    assert status_of(answer) == 413
    assert sent < TOTAL // 2


def test_oversized_body_gets_problem_json(server) -> None:
    """The 413 is an RFC 9457 problem document."""
    _, answer = _send_until_answered(server, "/api/v1/requests", chunked=True)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 413
    assert b"application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 413


def test_connector_limit_applies_to_connector_api(server) -> None:
    """A body between the two limits is refused on /api/v1 but not for size on the connector API."""
    size = (LIMIT + CONNECTOR_LIMIT) // 2
    body = b"[" + b" " * size + b"]"
    for path, too_large in (("/api/v1/requests", True), ("/api/connector/v1/instances", False)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST "
                + path.encode()
                + b" HTTP/1.1\r\nHost: x\r\n"
                + server.auth(path)
                + b"Content-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            status = status_of(read_response(sock))
        assert (status == 413) is too_large, (path, status)


def test_nul_split_across_chunks_is_422(server) -> None:
    """A \\u0000 escape split over two chunks is still refused with 422."""
    parts = [b'{"a": "x\\u00', b'00"}']
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        payload = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        sock.sendall(
            b"POST /api/connector/v1/instances HTTP/1.1\r\nHost: x\r\n"
            + server.connector
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + payload
        )
        assert status_of(read_response(sock)) == 422
