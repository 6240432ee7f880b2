"""Bounded retries: a limit on attempts AND a deadline; Retry-After first, else backoff + jitter.

Invariant: a retry loop always ends. It stops at ``max_attempts`` or when the next pause would
cross the deadline, whichever comes first, and then raises the last error. Time comes from an
injected ``Timer`` so tests move a fake clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from jitgate.graph.errors import GraphError, GraphNotFound

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Timer(Protocol):
    """Monotonic time and sleeping, injectable."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Pause for ``seconds``."""
        ...


class RealTimer:
    """The event loop's clock and sleep."""

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))


class FakeTimer:
    """A timer whose sleeps return at once and move its clock forward (tests, benches)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        """Return the fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` and yield to the loop once."""
        seconds = max(0.0, seconds)
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts, deadline, backoff shape."""

    max_attempts: int = 6
    deadline_s: float = 120.0
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    #: Replication lag: a 404 right after our own write is retried this many times (graph.md §8).
    not_found_attempts: int = 1
    jitter: Callable[[float], float] = field(default=lambda d: random.uniform(0, d))  # noqa: S311 - jitter, not crypto

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter" for the ``attempt``-th retry (1-based).

        Half the step is fixed and half is random: retries spread out, yet every pause is at
        least half its step, so a bounded number of retries also spans a known minimum time
        (what replication lag needs).
        """
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.jitter(ceiling / 2)

    def delay_for(self, err: GraphError, attempt: int) -> float:
        """Pause before the next try: the server's Retry-After if given, else backoff."""
        if err.retry_after is not None:
            return min(err.retry_after, self.max_delay_s * 4)
        return self.backoff(attempt)


NO_RETRY = RetryPolicy(max_attempts=1)


def should_retry(err: GraphError, attempt: int, policy: RetryPolicy) -> bool:
    """Return whether ``err`` on try number ``attempt`` deserves another try (ignoring time)."""
    if attempt >= policy.max_attempts:
        return False
    if err.retryable:
        return True
    return isinstance(err, GraphNotFound) and attempt < policy.not_found_attempts


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    timer: Timer,
    on_retry: Callable[[GraphError, float], None] | None = None,
) -> T:
    """Run ``call`` until it succeeds, or raise the last error when attempts or time run out."""
    start = timer.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except GraphError as err:
            if not should_retry(err, attempt, policy):
                raise
            delay = policy.delay_for(err, attempt)
            if timer.monotonic() + delay - start > policy.deadline_s:
                logger.warning(
                    "graph retry deadline reached",
                    extra={"attempt": attempt, "error": str(err)},
                )
                raise
            if on_retry is not None:
                on_retry(err, delay)
            logger.info(
                "graph retry",
                extra={"attempt": attempt, "delay_s": round(delay, 3), "error": str(err)},
            )
            await timer.sleep(delay)
