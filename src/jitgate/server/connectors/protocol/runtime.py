"""What the connector endpoints hold for the app's lifetime: handlers, notifier, timings.

``jitgate.server.connectors.protocol.api.install_connector_api(app, sessions, runtime)`` mounts
the ``/api/connector/v1`` router and puts the ``JobsRuntime`` on ``app.state.jobs``; an in-process
reconciler reaches the same registry and notifier there. The composition root
(``jitgate.server.app``) builds it with every area's result handlers
(``jitgate.server.handlers``) and what an agent's start check queues (guest permissions): this
package sits below those areas and only calls what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from jitgate.server.jobs.backoff import Backoff
from jitgate.server.jobs.notify import JobNotifier
from jitgate.server.jobs.operations import DEFAULT_LEASE
from jitgate.server.jobs.registry import HandlerRegistry  # noqa: TC001 - a dataclass field type

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.connectors.service import IntegrationFacts


class StartCheckFollowUp(Protocol):
    """What to queue after an agent's start self-check is stored (in the same transaction)."""

    def __call__(self, session: Session, clock: Clock, connector_id: str) -> object:
        """Queue the follow-up work of ``connector_id``'s start check, if any."""
        ...


def _nothing(session: Session, clock: Clock, connector_id: str) -> None:
    del session, clock, connector_id


@dataclass(slots=True)
class JobsRuntime:
    """What the connectors area is given (handlers, integration facts, start-check follow-up)."""

    handlers: HandlerRegistry
    #: What the connectors area asks of integrations (resource types, integrations in use).
    integrations: IntegrationFacts
    after_start_check: StartCheckFollowUp = _nothing
    notifier: JobNotifier = field(default_factory=JobNotifier)
    backoff: Backoff = field(default_factory=Backoff)
    lease: timedelta = DEFAULT_LEASE
    heartbeat_interval: timedelta = timedelta(seconds=15)
    #: How often a waiting claim re-reads the database (jobs queued by other processes).
    poll_interval_s: float = 1.0
