"""Admission control: every API request passes through a lane before it may use a thread.

Three lanes (``jitgate.core.lanes.Lane``), sized from the settings:

* ``read``: GET/HEAD of the public API (``read_concurrency``, default 8);
* ``write``: every other method of the public API (``write_concurrency``: 1 on SQLite, whose one
  write lock would otherwise be queued for by threads holding connections; 8 on PostgreSQL);
* ``connector``: ``/api/connector/v1`` (``protocol_concurrency``, default 4), a lane of its own so
  that no amount of public traffic starves the connector. Its writes also take the ``write`` lane,
  with priority (on SQLite they share the one write lock), as does the reconciler's tick.

``/healthz`` passes no lane and runs on the event loop: it answers whatever the load.

A request that finds its lane full waits on the event loop, holding neither a worker thread nor a
database connection; when the queue is full or the wait passes ``admission_wait_s`` it gets a
``503`` problem with ``Retry-After`` at once. The lanes bound the sessions open at once, so the
connection pool (``Settings.pool_size``) and the worker threads always cover them: a request never
waits for a connection held by a request that waits for a thread.

The claim long-poll holds its lanes only while it looks: ``pause(request)`` lets them go while it
sleeps between looks.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from jitgate.core.lanes import Lane, Saturated
from jitgate.server.web.limits import CONNECTOR_PREFIX, PROBLEM_JSON
from jitgate.server.web.problems import busy_problem

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

    from jitgate.core.settings import Settings

UNGATED = frozenset({"/healthz"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TICKET_KEY = "jitgate_lanes"


@dataclass
class Lanes:
    """The server's three lanes."""

    read: Lane
    write: Lane
    connector: Lane

    @classmethod
    def from_settings(cls, settings: Settings) -> Lanes:
        """Lanes sized by ``settings``."""
        queue, wait_s = settings.admission_queue, settings.admission_wait_s
        return cls(
            read=Lane("read", capacity=settings.read_concurrency, queue=queue, wait_s=wait_s),
            write=Lane(
                "write",
                capacity=settings.resolved_write_concurrency(),
                queue=queue,
                wait_s=wait_s,
            ),
            connector=Lane(
                "connector", capacity=settings.protocol_concurrency, queue=queue, wait_s=wait_s
            ),
        )

    @property
    def threads_needed(self) -> int:
        """Worker threads that cover every lane full at once."""
        return self.read.capacity + self.write.capacity + self.connector.capacity

    def for_request(self, path: str, method: str) -> list[tuple[Lane, bool]]:
        """The lanes (with their priority) a request takes, in the order it takes them."""
        if path in UNGATED:
            return []
        if path.startswith(CONNECTOR_PREFIX):
            lanes = [(self.connector, False)]
            return lanes if method in READ_METHODS else [*lanes, (self.write, True)]
        return [(self.read if method in READ_METHODS else self.write, False)]


@dataclass
class Ticket:
    """The lanes one request holds."""

    held: list[tuple[Lane, bool]] = field(default_factory=list)
    since: list[float] = field(default_factory=list)

    async def take(self, lanes: list[tuple[Lane, bool]]) -> None:
        """Take every lane in order; on ``Saturated``, give back those already taken."""
        try:
            for lane, priority in lanes:
                await lane.acquire(priority=priority)
                self.held.append((lane, priority))
                self.since.append(time.monotonic())
        except BaseException:
            self.give_back()
            raise

    def give_back(self) -> list[tuple[Lane, bool]]:
        """Release every lane held (in reverse order); return what was held."""
        held, since, self.held, self.since = self.held, self.since, [], []
        now = time.monotonic()
        for (lane, _), began in zip(reversed(held), reversed(since), strict=True):
            lane.observe(now - began)
            lane.release()
        return held


@contextlib.asynccontextmanager
async def pause(request: Request) -> AsyncIterator[None]:
    """Let the request's lanes go for the body of the ``async with`` (a long-poll's sleep).

    It takes them back with priority: a request already admitted is never refused half-way.
    """
    ticket: Ticket | None = request.scope.get("state", {}).get(TICKET_KEY)
    held = ticket.give_back() if ticket is not None else []
    try:
        yield
    finally:
        if ticket is not None:
            await ticket.take([(lane, True) for lane, _ in held])


async def send_busy(send: Send, path: str, err: Saturated) -> None:
    """Answer ``503`` + ``Retry-After`` without reading the body."""
    body = json.dumps(busy_problem(path, err)).encode()
    headers = [
        (b"content-type", PROBLEM_JSON),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(err.retry_after_s).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LaneCollector:
    """Prometheus families of the lanes, read at scrape time.

    ``jitgate_lane_in_use{lane}`` and ``jitgate_lane_waiting{lane}`` (gauges),
    ``jitgate_lane_refused_total{lane}`` (503s answered because the lane was full) and
    ``jitgate_lane_mean_hold_seconds{lane}`` (the recent mean time a slot is held).
    """

    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes

    def describe(self) -> list[Any]:
        """No fixed description (the registry must not call ``collect`` at registration)."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """One sample per lane and family."""
        lanes = (self.lanes.read, self.lanes.write, self.lanes.connector)
        families = (
            (GaugeMetricFamily, "jitgate_lane_in_use", "Slots held now.", "holders"),
            (GaugeMetricFamily, "jitgate_lane_waiting", "Requests waiting now.", "waiting"),
            (
                CounterMetricFamily,
                "jitgate_lane_refused",
                "Requests answered 503 because the lane was full.",
                "refused",
            ),
            (
                GaugeMetricFamily,
                "jitgate_lane_mean_hold_seconds",
                "Recent mean time a slot is held.",
                "mean_hold_s",
            ),
        )
        for kind, name, text, attribute in families:
            family = kind(name, text, labels=["lane"])
            for lane in lanes:
                family.add_metric([lane.name], float(getattr(lane, attribute)))
            yield family


class Admission:
    """Pure ASGI middleware: take the request's lanes, run it, give them back."""

    def __init__(self, app: ASGIApp, *, lanes: Lanes) -> None:
        self.app = app
        self.lanes = lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit the request or answer 503."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        wanted = self.lanes.for_request(path, scope.get("method", "GET"))
        if not wanted:
            await self.app(scope, receive, send)
            return
        ticket = Ticket()
        started = False

        async def watched(message: Any) -> None:  # noqa: ANN401 - an ASGI message
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await ticket.take(wanted)
            scope.setdefault("state", {})[TICKET_KEY] = ticket
            await self.app(scope, receive, watched)
        except Saturated as err:
            if started:
                raise
            await send_busy(send, path, err)
        finally:
            ticket.give_back()
