"""``jitgate up``'s start-up wait: until the connector is connected and discovery has finished.

``UpError`` is how every start-up failure of ``jitgate up`` surfaces: one readable line.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.schemas import ConnectorStatus
from jitgate.server.connectors.service import connector_read
from jitgate.server.integrations.models import Integration, IntegrationStatus
from jitgate.server.integrations.service import INTEGRATION_FACTS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import OffsetClock


class UpError(Exception):
    """``jitgate up`` could not start; the message is one readable line."""


@dataclass(frozen=True)
class Waiting:
    """What the wait looks at: the database, the clock, the agent task and the two rows."""

    sessions: sessionmaker[Session]
    clock: OffsetClock
    agent: asyncio.Task[object] | None
    integration_id: str
    connector_id: str


def _readiness(waiting: Waiting) -> tuple[IntegrationStatus, str | None, bool]:
    with waiting.sessions() as session:
        integration = session.get(Integration, waiting.integration_id)
        connector = session.get(Connector, waiting.connector_id)
        if integration is None or connector is None:
            raise UpError("the demo integration or connector vanished")
        read = connector_read(
            session=session,
            clock=waiting.clock,
            connector=connector,
            integrations=INTEGRATION_FACTS,
        )
        connected = read.status is ConnectorStatus.CONNECTED
        return integration.status, integration.status_message, connected


async def until_ready(waiting: Waiting, timeout_s: float, stop: asyncio.Event) -> None:
    """Wait until the connector is connected and the first discovery has finished."""
    deadline = time.monotonic() + timeout_s
    agent = waiting.agent
    while not stop.is_set():
        if agent is not None and agent.done():
            error = agent.exception()
            raise UpError(f"the connector stopped: {error!r}")
        status, message, connected = await asyncio.to_thread(_readiness, waiting)
        if status is IntegrationStatus.ERROR:
            raise UpError(f"the first discovery failed: {message}")
        if connected and status is not IntegrationStatus.INITIALIZING:
            return
        if time.monotonic() > deadline:
            raise UpError(f"the first discovery did not finish within {timeout_s:.0f} s")
        await asyncio.sleep(0.2)


def free_port(host: str) -> int:
    """A port free on ``host`` now (``--port 0``: the portal's redirect must be known first)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
