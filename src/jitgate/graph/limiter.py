"""An adaptive client-side limiter that learns Graph's budget instead of assuming it.

Model (graph.md §8): the directory budget per app and tenant is two token buckets, resource units
(RU, per tier, e.g. L = 8,000 per 10 s) and writes (3,000 per 150 s). We mirror both locally and
make every request take its estimated cost before it is sent. The configured tier is where the
mirror starts, not a ceiling or a floor: the budget a real tenant gives is per app *and* tenant,
other apps spend the tenant's share, and the tier may be guessed wrong. So the mirror learns:

* **Capacity** (the burst): the first ``x-ms-throttle-limit-percentage`` (sent once more than
  80 % of the server bucket is used) or the first 429 tells how much we had drawn when the server
  bucket was nearly empty; the mirror's capacity is lowered to that, and its tokens to what the
  header says is left, so a burst stops before it runs into 429s.
* **Rate**: a throttling *episode* (every 429 answered to a request sent after the last decrease;
  one ``$batch`` of 20 with many inner 429s is one episode, not twenty) lowers the refill rate
  once, to what the server admitted (with 3 % headroom): what it took a second since its bucket
  was last seen empty (learnt burst, last episode); when that span is too short to measure, it
  halves. For a few seconds after, ``$batch``
  requests are small (``batch_size``), so a rate still too high costs few inner 429s.
  While we are waiting on a bucket (demand exceeds the rate), with no episode for a few
  seconds, the rate probes upwards (1 % of the rate a second), so a budget that grows is found
  again and the configured tier is no ceiling.
* ``Retry-After`` pauses everyone; ``x-ms-resource-unit`` (the real RU cost) is debited.
  A 429's ``x-ms-throttle-information`` says which bucket ran out (ResourceUnitLimitExceeded:
  RU, WriteLimitExceeded: writes); without it both learn.

The limiter lives as long as the tenant's ``GraphClient`` (one per connector and tenant), so what
it learnt carries over from job to job; ``write_rate`` is the learnt writes per second (the
connector's ``jitgate_graph_write_rate_learnt``).

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

from jitgate.graph.buckets import (
    HEADROOM,
    MAX_DECREASE,
    MIN_DECREASE,
    PROBE_PER_S,
    QUIET_S,
    SETTLE_BATCH_SHARE,
    SETTLE_S,
    RateBucket,
)
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


@dataclass(slots=True)
class LimiterStats:
    """Counters for benches and metrics."""

    granted: int = 0
    #: 429 answers (each inner answer of a ``$batch`` counts).
    throttled: int = 0
    #: Throttling episodes (each lowered the learnt rate or capacity once).
    episodes: int = 0
    slowed_by_header: int = 0
    waited_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Ticket:
    """What ``slot`` hands the caller: when the request was let go (to tell episodes apart)."""

    sent_at: float


class AdaptiveLimiter:
    """Priority-ordered admission against mirrored RU and write buckets that learn the budget."""

    def __init__(self, budget: Budget | None = None, *, timer: Timer | None = None) -> None:
        self.budget = budget or Budget()
        self._timer = timer or RealTimer()
        now = self._timer.monotonic()
        self._ru = RateBucket(
            "ru", self.budget.ru_capacity * self.budget.utilisation, self.budget.ru_rate, now
        )
        self._writes = RateBucket(
            "writes",
            self.budget.write_capacity * self.budget.utilisation,
            self.budget.write_rate,
            now,
        )
        self._paused_until = now
        #: When the last episode began: a 429 to a request sent before it is the same episode.
        self._episode_at = -1e18
        self._quiet_from = now
        self._heap: list[tuple[int, int, asyncio.Event]] = []
        self._seq = itertools.count()
        self._in_flight = asyncio.Semaphore(self.budget.max_in_flight)
        self.stats = LimiterStats()

    @property
    def write_rate(self) -> float:
        """The learnt write rate (writes per second)."""
        return self._writes.rate

    @property
    def ru_rate(self) -> float:
        """The learnt resource-unit rate (RU per second)."""
        return self._ru.rate

    @property
    def write_capacity(self) -> float:
        """The learnt (or, until learnt, configured) write burst."""
        return self._writes.capacity

    @property
    def rate_factor(self) -> float:
        """The learnt write rate as a share of the configured one (1.0 = as configured)."""
        return self._writes.rate / self.budget.write_rate

    def batch_size(self, largest: int) -> int:
        """How many writes to put in the next ``$batch``: fewer while the rate is unproven."""
        now = self._timer.monotonic()
        changed = max(self._episode_at, self._writes.learnt_at, self._ru.learnt_at)
        if now - changed < SETTLE_S:
            return max(1, round(largest * SETTLE_BATCH_SHARE))
        return largest

    @asynccontextmanager
    async def slot(
        self, priority: Priority, *, ru: float = 1.0, writes: float = 0.0
    ) -> AsyncIterator[Ticket]:
        """Wait for budget and a free connection slot, in priority order, then run the body."""
        ticket = await self.acquire(priority, ru=ru, writes=writes)
        self._ru.outstanding += ru
        self._writes.outstanding += writes
        try:
            async with self._in_flight:
                yield ticket
        finally:
            self._ru.outstanding = max(0.0, self._ru.outstanding - ru)
            self._writes.outstanding = max(0.0, self._writes.outstanding - writes)

    async def acquire(self, priority: Priority, *, ru: float = 1.0, writes: float = 0.0) -> Ticket:
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
                    now = self._timer.monotonic()
                    self._ru.take(ru, now)
                    if writes:
                        self._writes.take(writes, now)
                    self._ru.waiting = self._writes.waiting = False
                    self.stats.granted += 1
                    return Ticket(now)
                await self._timer.sleep(delay)
        finally:
            self._heap.remove(me)
            heapq.heapify(self._heap)
            if self._heap:
                self._heap[0][2].set()
            self.stats.waited_s += self._timer.monotonic() - started

    def _delay(self, ru: float, writes: float) -> float:
        now = self._timer.monotonic()
        self._probe(now)
        self._ru.refill(now)
        self._writes.refill(now)
        ru_wait = self._ru.wait_for(ru)
        write_wait = self._writes.wait_for(writes) if writes else 0.0
        self._ru.waiting = self._ru.waiting or ru_wait > 0
        self._writes.waiting = self._writes.waiting or write_wait > 0
        return max(self._paused_until - now, ru_wait, write_wait)

    def _probe(self, now: float) -> None:
        """Additive increase for a bucket that holds us back, once things have been quiet."""
        for bucket in (self._ru, self._writes):
            since = max(bucket.stamp, self._quiet_from)
            if now > since and bucket.waiting:
                bucket.rate += bucket.rate * PROBE_PER_S * (now - since)

    def observe(self, headers: Mapping[str, str], *, ru: float, writes: float) -> None:
        """Correct the mirror from a successful (non-429) answer's headers."""
        now = self._timer.monotonic()
        self._probe(now)
        self._ru.refill(now)
        self._writes.refill(now)
        actual = _float(headers.get("x-ms-resource-unit"))
        if actual is not None and actual > ru:
            self._ru.tokens -= actual - ru
        used = _float(headers.get("x-ms-throttle-limit-percentage"))
        if used is None:
            return
        self.stats.slowed_by_header += 1
        bucket = self._writes if writes else self._ru
        share = min(1.0, used)
        if not bucket.learnt:
            self._learn_capacity(bucket, share)
        remaining = (1.0 - share) * bucket.capacity - bucket.outstanding
        bucket.tokens = min(bucket.tokens, remaining)

    def _learn_capacity(self, bucket: RateBucket, used_share: float) -> None:
        """The server bucket is ``used_share`` used: what we drew since it was full tells its size.

        What we drew is our mirror's deficit (what we took, net of refill) less what is still in
        flight (the server has not counted it yet).
        """
        if used_share <= 0:
            return
        drawn = bucket.capacity - bucket.tokens - bucket.outstanding
        estimate = drawn / used_share
        bucket.learnt_at = self._timer.monotonic()
        if 0 < estimate < bucket.capacity:
            logger.info(
                "graph budget: burst learnt",
                extra={"bucket": bucket.name, "capacity": round(estimate, 1)},
            )
            bucket.capacity = estimate
        bucket.learnt = True
        bucket.seen_empty(self._timer.monotonic())

    def throttled(
        self,
        retry_after: float | None,
        *,
        sent_at: float | None = None,
        information: str | None = None,
        answers: int = 1,
        sent: tuple[float, float] = (1.0, 0.0),
        admitted: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """429s arrived for a request sent at ``sent_at``: pause everyone, learn once per episode.

        ``sent`` and ``admitted`` are the (RU, writes) the request carried and the share of it
        the server took (a ``$batch`` whose other inner requests succeeded).
        """
        self.stats.throttled += answers
        pause = retry_after if retry_after is not None else 1.0
        now = self._timer.monotonic()
        self._probe(now)
        self._ru.refill(now)
        self._writes.refill(now)
        same = sent_at <= self._episode_at if sent_at is not None else now < self._paused_until
        self._paused_until = max(self._paused_until, now + pause)
        self._quiet_from = max(self._quiet_from, now + QUIET_S)
        self._ru.refused += sent[0] - admitted[0]
        self._writes.refused += sent[1] - admitted[1]
        if same:
            self._ru.tokens = min(self._ru.tokens, 0.0)
            self._writes.tokens = min(self._writes.tokens, 0.0)
            return
        self._episode_at = now
        self.stats.episodes += 1
        for bucket in self._throttled_buckets(information, sent):
            if not bucket.learnt:
                self._learn_capacity(bucket, 1.0)
            else:
                measured = bucket.admitted_rate(now)
                if measured is None:  # too soon to measure: halve once, then small steps
                    rate = bucket.rate * (MIN_DECREASE if bucket.halved else MAX_DECREASE)
                    bucket.halved = True
                else:  # and measure the next span from here
                    rate = measured * HEADROOM
                    bucket.seen_empty(now)
                bucket.rate = max(bucket.floor, min(bucket.rate * MIN_DECREASE, rate))
        self._ru.tokens = min(self._ru.tokens, 0.0)
        self._writes.tokens = min(self._writes.tokens, 0.0)
        logger.warning(
            "graph throttled: pausing",
            extra={
                "pause_s": pause,
                "write_rate": round(self._writes.rate, 3),
                "ru_rate": round(self._ru.rate, 3),
            },
        )

    def _throttled_buckets(
        self, information: str | None, sent: tuple[float, float]
    ) -> list[RateBucket]:
        text = (information or "").lower()
        if "resourceunit" in text:
            return [self._ru]
        if "write" in text and sent[1] > 0:
            return [self._writes]
        return [self._ru, self._writes] if sent[1] > 0 else [self._ru]


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
