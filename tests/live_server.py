"""The API on a loopback port, served by uvicorn in a thread, for tests that need a real socket."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

import uvicorn

from polling import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI


def free_port() -> int:
    """A loopback port free right now (for an app that must know its own URL before serving)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: FastAPI, *, port: int | None = None) -> Iterator[int]:
    """Serve ``app`` on ``port`` (default: a free loopback port); yield it, stop on exit."""
    port = port or free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_for(lambda: srv.started, timeout_s=10, interval_s=0.02, message="the test server")
    try:
        yield port
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def read_response(sock: socket.socket) -> bytes:
    """Read one whole response (head and Content-Length body) without waiting for the close.

    The server may close with our unsent or unread body still in flight, and a reset can drop
    what a later read would return: stop as soon as the response is complete.
    """
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            lines = head.decode("latin-1").lower().split("\r\n")
            length = next(
                (
                    int(line.split(":", 1)[1])
                    for line in lines
                    if line.startswith("content-length:")
                ),
                0,
            )
            if len(body) >= length:
                return data
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP/1.1 response."""
    return int(answer.split(b" ", 2)[1])
