"""The local mirror of one Graph token bucket (resource units or writes) and what it learns.

``AdaptiveLimiter`` (``graph/limiter.py``) holds two of these; the constants are the learning
rules its docstring describes.
"""

from __future__ import annotations

from collections import deque

#: A decrease never goes below this share of the rate it starts from (one episode, one step).
MAX_DECREASE = 0.5
#: ... and always takes at least this much off (a 429 means we were too fast).
MIN_DECREASE = 0.95
#: Headroom under the rate the server was seen to admit.
HEADROOM = 0.97
#: Additive increase while demand exceeds the rate: this share of the rate per second.
PROBE_PER_S = 0.01
#: No probing for this long after an episode or a limit-percentage header.
QUIET_S = 10.0
#: For this long after an episode or a learnt burst the rate is unproven: ``batch_size`` is small,
#: so a wrong rate costs a few inner 429s, not a whole ``$batch`` of them.
SETTLE_S = 5.0
#: ... and this is the share of the full batch then.
SETTLE_BATCH_SHARE = 0.2
#: Tokens this close to enough are enough.
EPSILON = 1e-6
#: The admitted rate is measured over at least this span (else the admitted share is used).
MEASURE_MIN_S = 2.0
#: ... and of at least this much admitted (a few small batches are too coarse a measure).
MEASURE_MIN_AMOUNT = 10.0
#: How far back the send rate is measured.
RATE_WINDOW_S = 10.0
#: The learnt rate never falls below this share of the configured one (a stuck limiter helps
#: nobody; Retry-After still holds us back).
FLOOR_SHARE = 0.001


class RateBucket:
    """A local mirror of one of Graph's token buckets, and what it learnt of the server's."""

    def __init__(self, name: str, capacity: float, rate: float, now: float) -> None:
        self.name = name
        self.capacity = capacity
        self.rate = rate
        self.floor = rate * FLOOR_SHARE
        self.tokens = capacity
        self.stamp = now
        #: Whether the capacity was learnt from the server (else it is the configured guess).
        self.learnt = False
        self.learnt_at = -1e18
        #: Taken but not answered yet.
        self.outstanding = 0.0
        #: A waiter is waiting on this bucket (demand exceeds the rate); cleared on each grant,
        #: so idle time is never probing time.
        self.waiting = False
        self.sent: deque[tuple[float, float]] = deque()
        #: Since the server's bucket was last seen empty: when, what we took, what it refused.
        self.empty_at = -1e18
        self.halved = False
        self.taken = 0.0
        self.refused = 0.0

    def refill(self, now: float) -> None:
        """Add what the rate gave since the last refill, up to the capacity."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = now

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` tokens are there (0: now)."""
        missing = min(cost, self.capacity) - self.tokens
        # a rounding crumb is no wait (a sleep too short to move the clock would spin)
        return 0.0 if missing <= EPSILON else missing / self.rate

    def take(self, amount: float, now: float) -> None:
        """Spend ``amount`` tokens now, and remember the send for ``send_rate``."""
        self.tokens -= amount
        self.taken += amount
        self.sent.append((now, amount))
        while self.sent and self.sent[0][0] < now - RATE_WINDOW_S:
            self.sent.popleft()

    def seen_empty(self, now: float) -> None:
        """The server's bucket is empty now: measure what it admits from here.

        Once measured, the rate is close: until the next measure, small steps only.
        """
        self.empty_at, self.taken, self.refused = now, self.outstanding, 0.0
        self.halved = self.learnt_at < now

    def admitted_rate(self, now: float) -> float | None:
        """What the server admitted a second between two moments its bucket was empty.

        Empty at both ends, the bucket gave exactly its refill (less what other apps took):
        the most direct measure of the budget there is. ``None`` when the span is too short.
        """
        span = now - self.empty_at
        admitted = max(0.0, self.taken - self.refused - self.outstanding)
        if span < MEASURE_MIN_S or admitted < MEASURE_MIN_AMOUNT:
            return None
        return admitted / span

    def send_rate(self, now: float, since: float) -> float:
        """What we sent per second lately (since ``since``), or the rate when that is too short."""
        start = max(since, now - RATE_WINDOW_S)
        span = now - start
        if span < 1.0:
            return self.rate
        return sum(amount for at, amount in self.sent if at >= start) / span
