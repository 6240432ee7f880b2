"""The ASGI application: one port serves the sign-in host, Graph ``/v1.0`` and ``/_emulator``.

``create_app(state)`` returns a plain ASGI callable, usable in-process through
``httpx.ASGITransport`` or served by uvicorn over HTTPS (see ``server.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from jitgate.emulator.admin import handle_admin
from jitgate.emulator.graph import handle_batch, handle_graph
from jitgate.emulator.http import Request, Response
from jitgate.emulator.signin_page import handle_signin, is_browser_path

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DroppedConnectionError(ConnectionError):
    """Raised after a partial response to make the server drop the connection (fault injection)."""


def dispatch(state: EmulatorState, req: Request) -> Response:
    """Route one request to the admin API, Graph, ``$batch`` or the sign-in host."""
    path = req.path
    if path.startswith("/_emulator/"):
        return handle_admin(state, req)
    if path == "/v1.0/$batch" and req.method == "POST":
        return handle_batch(state, req)
    if path.startswith("/v1.0/"):
        return handle_graph(state, req)
    return handle_signin(state, req)


def _normalise(path: str) -> str:
    """Split ``applications(appId='x')`` style key segments into ``applications/(appId='x')``."""
    if "(" not in path:
        return path
    parts = []
    for segment in path.split("/"):
        head, sep, tail = segment.partition("(")
        if sep and head and tail.rstrip(")"):
            parts.extend([head, f"({tail}"])
        else:
            parts.append(segment)
    return "/".join(parts)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _browser_only(state: EmulatorState, req: Request) -> Response:
    """The plain-HTTP browser listener: sign-in pages only, nothing else answers."""
    if is_browser_path(req.path):
        return handle_signin(state, req)
    return Response(404, b"not served on the browser listener\n", {"Content-Type": "text/plain"})


def create_app(state: EmulatorState, *, browser_only: bool = False) -> ASGIApp:
    """Return the emulator as an ASGI application (``browser_only``: sign-in pages only)."""
    handler = _browser_only if browser_only else dispatch

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host") or "{}:{}".format(*scope.get("server") or ("localhost", 443))
        req = Request(
            scope["method"],
            _normalise(scope["path"]),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            await _read_body(receive),
            f"{scope.get('scheme', 'https')}://{host}",
        )
        if not req.path.startswith("/_emulator/"):
            delay = state.faults.delay(state.settings, req.method, req.path)
            if delay:
                await asyncio.sleep(delay)
        response = handler(state, req)
        if response.drop:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1024")],
                }
            )
            raise DroppedConnectionError("fault injection: connection dropped")
        raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
        ]
        raw_headers.append((b"content-length", str(len(response.body)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": response.body})

    return app
