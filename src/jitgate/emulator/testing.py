"""A synchronous in-process httpx transport onto an emulator state (no sockets, no event loop).

``httpx.ASGITransport`` serves ``AsyncClient``; this one serves plain ``httpx.Client`` by calling
the same ``dispatch`` the ASGI app calls. Latency knobs are ignored here; faults still apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from jitgate.emulator.app import DroppedConnectionError, _normalise, dispatch
from jitgate.emulator.http import Request

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState


class InProcessTransport(httpx.BaseTransport):
    """Send each request straight to the emulator's dispatcher."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request."""
        url = request.url
        base = f"{url.scheme}://{url.netloc.decode()}"
        headers = {k.lower(): v for k, v in request.headers.items()}
        req = Request(
            request.method, _normalise(url.path), url.query.decode(), headers, request.read(), base
        )
        response = dispatch(self.state, req)
        if response.drop:
            raise httpx.RemoteProtocolError(
                str(DroppedConnectionError("connection dropped")), request=request
            )
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )


def client(state: EmulatorState, base_url: str = "https://emulator.test") -> httpx.Client:
    """Return an ``httpx.Client`` wired to ``state`` in-process."""
    return httpx.Client(transport=InProcessTransport(state), base_url=base_url)
