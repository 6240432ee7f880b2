"""An adaptive client-side limiter that keeps us under Graph's budget instead of bouncing off 429s.

Model (graph.md §8): the directory budget per app and tenant is two token buckets, resource units
(RU, per tier, e.g. L = 8,000 per 10 s) and writes (3,000 per 150 s). We mirror both locally and
make every request take its estimated cost before it is sent. Then we correct the mirror from
what Graph tells us:

* ``x-ms-resource-unit`` is the real RU cost of the request: the difference is debited.
* ``x-ms-throttle-limit-percentage`` (sent once more than 80 % of the budget is used) tells how
  much of the server bucket is gone: our bucket is lowered to match, so we slow down early.
* a 429 pauses everyone for its Retry-After and halves the refill rate, which then recovers
  additively (AIMD), so other apps sharing the tenant budget are accommodated.

Invariant (DESIGN.md 7): waiters are served strictly by priority, revocations before grants before
reads; within a priority, first come first served. Only the head waiter may take tokens, so a
stream of reads can never starve a revocation.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from jitgate.graph.retry import RealTimer, Timer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

logger = logging.getLogger(__name__)

#: Resource units per 10 s for the app + tenant pair, by tenant size (graph.md §8).
TIER_RU_PER_10S = {"S": 3500.0, "M": 5000.0, "L": 8000.0}


class Priority(IntEnum):
    """Lower runs first."""

    REVOKE = 0
    GRANT = 1
    READ = 2


@dataclass(frozen=True, slots=True)
class Budget:
    """The server's budget for this app and tenant, and how close to it we run."""

    ru_capacity: float = TIER_RU_PER_10S["L"]
    ru_window_s: float = 10.0
    write_capacity: float = 3000.0
    write_window_s: float = 150.0
    #: Fraction of the server budget we allow ourselves (headroom for other clients, clock skew).
    utilisation: float = 0.97
    #: At most this many requests in flight at once.
    max_in_flight: int = 16

    @classmethod
    def for_tier(cls, tier: str) -> Budget:
        """The documented budget for tenant size ``tier`` (S, M or L)."""
        return cls(ru_capacity=TIER_RU_PER_10S[tier.upper()])

    @property
    def ru_rate(self) -> float:
        """Resource units per second at full speed."""
        return self.ru_capacity / self.ru_window_s * self.utilisation

    @property
    def write_rate(self) -> float:
        """Writes per second at full speed."""
        return self.write_capacity / self.write_window_s * self.utilisation


class _Bucket:
    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = now

    def refill(self, now: float, factor: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate * factor)
        self.stamp = now

    def wait_for(self, cost: float, factor: float) -> float:
        missing = min(cost, self.capacity) - self.tokens
        return 0.0 if missing <= 0 else missing / (self.rate * factor)


@dataclass(slots=True)
class LimiterStats:
    """Counters for benches and metrics."""

    granted: int = 0
    throttled: int = 0
    slowed_by_header: int = 0
    waited_s: float = 0.0


class AdaptiveLimiter:
    """Priority-ordered admission against mirrored RU and write buckets."""

    def __init__(self, budget: Budget | None = None, *, timer: Timer | None = None) -> None:
        self.budget = budget or Budget()
        self._timer = timer or RealTimer()
        now = self._timer.monotonic()
        self._ru = _Bucket(
            self.budget.ru_capacity * self.budget.utilisation, self.budget.ru_rate, now
        )
        self._writes = _Bucket(
            self.budget.write_capacity * self.budget.utilisation, self.budget.write_rate, now
        )
        self._factor = 1.0
        self._paused_until = now
        self._heap: list[tuple[int, int, asyncio.Event]] = []
        self._seq = itertools.count()
        self._in_flight = asyncio.Semaphore(self.budget.max_in_flight)
        self.stats = LimiterStats()

    @property
    def rate_factor(self) -> float:
        """Current share of the nominal refill rate (1.0 = full speed)."""
        return self._factor

    @asynccontextmanager
    async def slot(
        self, priority: Priority, *, ru: float = 1.0, writes: float = 0.0
    ) -> AsyncIterator[None]:
        """Wait for budget and a free connection slot, in priority order, then run the body."""
        await self.acquire(priority, ru=ru, writes=writes)
        async with self._in_flight:
            yield

    async def acquire(self, priority: Priority, *, ru: float = 1.0, writes: float = 0.0) -> None:
        """Take ``ru`` resource units and ``writes`` writes, waiting our turn."""
        me = (int(priority), next(self._seq), asyncio.Event())
        heapq.heappush(self._heap, me)
        started = self._timer.monotonic()
        try:
            while True:
                if self._heap[0] is not me:
                    me[2].clear()
                    await me[2].wait()
                    continue
                delay = self._delay(ru, writes)
                if delay <= 0:
                    self._ru.tokens -= ru
                    self._writes.tokens -= writes
                    self.stats.granted += 1
                    return
                await self._timer.sleep(delay)
        finally:
            self._heap.remove(me)
            heapq.heapify(self._heap)
            if self._heap:
                self._heap[0][2].set()
            self.stats.waited_s += self._timer.monotonic() - started

    def _delay(self, ru: float, writes: float) -> float:
        now = self._timer.monotonic()
        self._ru.refill(now, self._factor)
        self._writes.refill(now, self._factor)
        pause = self._paused_until - now
        return max(
            pause,
            self._ru.wait_for(ru, self._factor),
            self._writes.wait_for(writes, self._factor) if writes else 0.0,
        )

    def observe(self, headers: Mapping[str, str], *, ru: float, writes: float) -> None:
        """Correct the mirror from a successful (non-429) answer's headers."""
        actual = _float(headers.get("x-ms-resource-unit"))
        if actual is not None and actual > ru:
            self._ru.tokens -= actual - ru
        used = _float(headers.get("x-ms-throttle-limit-percentage"))
        if used is not None:
            self.stats.slowed_by_header += 1
            bucket = self._writes if writes else self._ru
            remaining = max(0.0, 1.0 - used) * bucket.capacity / self.budget.utilisation
            # Keep a little back so parallel requests in flight don't push us over.
            bucket.tokens = min(bucket.tokens, remaining - self.budget.max_in_flight)
        else:
            self._factor = min(1.0, self._factor + 0.05)

    def throttled(self, retry_after: float | None) -> None:
        """A 429 arrived: pause everyone, empty the buckets, halve the rate."""
        self.stats.throttled += 1
        pause = retry_after if retry_after is not None else 1.0
        now = self._timer.monotonic()
        self._paused_until = max(self._paused_until, now + pause)
        self._factor = max(0.1, self._factor / 2)
        self._ru.tokens = min(self._ru.tokens, 0.0)
        self._writes.tokens = min(self._writes.tokens, 0.0)
        logger.warning(
            "graph throttled: pausing",
            extra={"pause_s": pause, "rate_factor": self._factor},
        )


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
