"""Failed-authentication throttling per client address, kept in memory.

Every refused credential (an API token on ``/api/v1``, a connector token on
``/api/connector/v1``, the metrics token on ``/metrics``) is counted against the client's
address. Once an address has failed ``auth_failure_limit`` times within
``auth_failure_window_s`` seconds, its further failures are answered ``429`` with
``Retry-After`` (the seconds until its oldest failure leaves the window) instead of ``401``.

Invariants:

* successful authentication is never throttled and never counted: a person or connector with a
  valid token keeps working even from an address that someone else is hammering (behind one
  NAT or proxy), and a busy client is never slowed;
* time comes from the injected clock; memory is bounded (at most ``MAX_ADDRESSES`` addresses,
  the least recently failing forgotten first, and at most ``limit`` failures each);
* counts are per process: with several replicas each throttles on its own (the limit is per
  replica), and a restart forgets them (no state change is lost: nothing was granted).

The address is the one uvicorn reports: the peer, or the ``X-Forwarded-For`` client when the
peer is a trusted proxy (uvicorn's ``--forwarded-allow-ips``). Two counters are exported on
``/metrics``: ``jitgate_auth_failures_total`` and ``jitgate_auth_throttled_total``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

from prometheus_client.core import CounterMetricFamily

from jitgate.core.errors import TooManyRequests, Unauthenticated

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from fastapi import FastAPI, Request
    from prometheus_client import CollectorRegistry

    from jitgate.core.clock import Clock
    from jitgate.core.settings import Settings

MAX_ADDRESSES = 10_000
UNKNOWN_ADDRESS = "unknown"


class AuthThrottle:
    """Sliding windows of failure times, one per client address."""

    def __init__(self, *, clock: Clock, limit: int, window_s: float) -> None:
        self.clock, self.limit = clock, limit
        self.window = timedelta(seconds=window_s)
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()
        self.failures_total = 0
        self.throttled_total = 0

    def fail(self, address: str) -> int | None:
        """Count a failure; return the seconds to wait when ``address`` is over the limit."""
        if self.limit <= 0:
            self.failures_total += 1
            return None
        now = self.clock.now()
        with self._lock:
            self.failures_total += 1
            times = self._failures.pop(address, None)
            if times is None:
                times = deque(maxlen=self.limit)
            while times and times[0] <= now - self.window:
                times.popleft()
            over = len(times) >= self.limit
            if over:
                self.throttled_total += 1
                wait = (times[0] + self.window - now).total_seconds()
            else:
                times.append(now)
            self._failures[address] = times
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)
        return max(1, math.ceil(wait)) if over else None

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The two counters, for a Prometheus registry."""
        yield CounterMetricFamily(
            "jitgate_auth_failures",
            "Requests refused for a missing or invalid token (API, connector or metrics).",
            value=self.failures_total,
        )
        yield CounterMetricFamily(
            "jitgate_auth_throttled",
            "Failed authentications answered 429 because their address was over the limit.",
            value=self.throttled_total,
        )

    def describe(self) -> list[CounterMetricFamily]:
        """No fixed description (the registry must not call ``collect`` at registration)."""
        return []


def client_address(request: Request) -> str:
    """The client's address as the server sees it."""
    return request.client.host if request.client else UNKNOWN_ADDRESS


def refuse(request: Request, error: Unauthenticated) -> NoReturn:
    """Count a failed authentication, then raise ``error`` or, over the limit, a 429."""
    throttle: AuthThrottle = request.app.state.auth_throttle
    wait = throttle.fail(client_address(request))
    if wait is not None:
        raise TooManyRequests(
            f"too many failed authentications from this address; retry in {wait} s",
            retry_after_s=wait,
        ) from error
    raise error


def install_auth_throttle(
    app: FastAPI, *, settings: Settings, clock: Clock, registry: CollectorRegistry
) -> AuthThrottle:
    """Give the app its throttle and export its counters on the app's registry."""
    throttle = AuthThrottle(
        clock=clock, limit=settings.auth_failure_limit, window_s=settings.auth_failure_window_s
    )
    app.state.auth_throttle = throttle
    registry.register(throttle)
    return throttle
