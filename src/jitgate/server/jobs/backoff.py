"""Retry delays: exponential backoff with jitter, from an injected random source.

``delay = min(cap, base * 2**(attempt-1))`` scaled by a factor in ``[0.5, 1.0)`` ("equal
jitter"): retries of many jobs that failed together spread out, yet never come back sooner than
half the nominal delay. A Graph ``Retry-After`` hint is a floor.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta


class RandomSource:
    """Where jitter comes from (``random.Random`` fits; tests pass a seeded one)."""

    def random(self) -> float:
        """Return a float in ``[0, 1)``."""
        return random.random()  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True, slots=True)
class Backoff:
    """The retry schedule of jobs."""

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=15)
    rng: random.Random | RandomSource = field(default_factory=RandomSource)

    def nominal(self, attempt: int) -> timedelta:
        """The un-jittered delay after the ``attempt``-th failure (1-based)."""
        exponent = max(0, min(attempt - 1, 30))
        return min(self.cap, self.base * (1 << exponent))

    def delay(self, attempt: int, *, retry_after_s: float | None = None) -> timedelta:
        """The jittered delay after the ``attempt``-th failure, at least ``retry_after_s``."""
        delay = self.nominal(attempt) * (0.5 + self.rng.random() / 2)
        if retry_after_s is not None:
            delay = max(delay, timedelta(seconds=retry_after_s))
        return delay
