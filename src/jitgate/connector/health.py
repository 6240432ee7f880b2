"""``/healthz`` and ``/metrics`` on a local port for the orchestrator and Prometheus.

``/healthz`` is 200 while the agent is registered and claiming, else 503; ``/metrics`` is the
connector's Prometheus text (``connector.metrics``). A minimal HTTP/1.1 responder on asyncio
streams (no framework: the agent serves nothing else).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


class HealthServer:
    """Serves ``GET /healthz`` from a status callback."""

    def __init__(
        self,
        status: Callable[[], tuple[bool, dict[str, object]]],
        metrics: Callable[[], bytes] | None = None,
    ) -> None:
        self._status = status
        self._metrics = metrics
        self._server: asyncio.Server | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0 picks a free one, see ``self.port``)."""
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            body: dict[str, object]
            route = path.split("?", 1)[0]
            content_type = "application/json"
            if route == "/metrics" and self._metrics is not None:
                code, payload = 200, self._metrics()
                content_type = "text/plain; version=0.0.4; charset=utf-8"
            elif route != "/healthz":
                code, payload = 404, json.dumps({"status": "not found"}).encode()
            else:
                healthy, body = self._status()
                code = 200 if healthy else 503
                payload = json.dumps(body).encode()
            head = (
                f"HTTP/1.1 {code} {REASONS[code]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
