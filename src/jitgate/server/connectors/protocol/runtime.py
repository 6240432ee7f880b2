"""What the connector endpoints hold for the app's lifetime: handlers, notifier, timings.

``jitgate.server.connectors.protocol.api.install_connector_api(app, sessions)`` mounts the
``/api/connector/v1`` router and puts a ``JobsRuntime`` on ``app.state.jobs``; an in-process
reconciler reaches the same registry and notifier there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from jitgate.server.handlers import default_registry
from jitgate.server.jobs.backoff import Backoff
from jitgate.server.jobs.notify import JobNotifier
from jitgate.server.jobs.operations import DEFAULT_LEASE
from jitgate.server.jobs.registry import HandlerRegistry  # noqa: TC001 - a dataclass field type


@dataclass(slots=True)
class JobsRuntime:
    """Result handlers, the long-poll notifier, and lease / poll timings."""

    handlers: HandlerRegistry = field(default_factory=default_registry)
    notifier: JobNotifier = field(default_factory=JobNotifier)
    backoff: Backoff = field(default_factory=Backoff)
    lease: timedelta = DEFAULT_LEASE
    heartbeat_interval: timedelta = timedelta(seconds=15)
    #: How often a waiting claim re-reads the database (jobs queued by other processes).
    poll_interval_s: float = 1.0
