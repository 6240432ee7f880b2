"""Lanes: bounded admission to a scarce resource, waited for on the event loop.

A ``Lane`` lets at most ``capacity`` holders in at once. Others wait in a queue of at most
``queue`` places, each for at most ``wait_s`` seconds. A newcomer whose expected wait (the
waiters ahead of it, divided by the capacity, times the recent mean time a slot is held) is
longer than ``wait_s`` is refused at once rather than after ``wait_s``: ``acquire`` raises
``Saturated`` (with that expected wait as the ``Retry-After``), which the server answers with
``503``. Waiting costs an asyncio future only: no worker thread, no database connection, no lock.

Priority waiters (the reconciler's tick, the connector's writes) go before every ordinary waiter,
are not bounded by the queue and wait as long as it takes: they never wait behind the public API's
queue, only for the holder of the moment.

Invariants: a slot released while someone waits passes straight to the first live waiter (the
count of holders never dips, so no newcomer overtakes the queue); a waiter that gives up (timeout,
cancellation) at the moment its slot arrives passes that slot on. Every method runs on the event
loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


#: Weight of the newest hold time in ``Lane.mean_hold_s``.
HOLD_WEIGHT = 0.1


class Saturated(Exception):
    """The lane is full and its queue is too (or the wait ran out): come back later."""

    def __init__(self, lane: str, retry_after_s: int) -> None:
        super().__init__(f"the {lane} lane is saturated")
        self.lane = lane
        self.retry_after_s = retry_after_s


class Lane:
    """At most ``capacity`` holders; a bounded, timed queue; priority waiters first."""

    def __init__(self, name: str, *, capacity: int, queue: int, wait_s: float) -> None:
        if capacity < 1:
            raise ValueError("a lane needs a capacity of at least 1")
        self.name, self.capacity, self.queue, self.wait_s = name, capacity, queue, wait_s
        self.holders = 0
        self.refused = 0
        self.served = 0
        #: Recent mean seconds a slot is held (an exponentially weighted moving average).
        self.mean_hold_s = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._priority: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many wait now (ordinary and priority)."""
        return sum(not f.done() for f in self._waiters) + sum(not f.done() for f in self._priority)

    def expected_wait_s(self) -> float:
        """How long a newcomer would wait now, judged by the queue and the recent hold times."""
        ahead = len(self._waiters) + len(self._priority) + 1
        return ahead / self.capacity * self.mean_hold_s

    def _refuse(self, expected_s: float) -> Saturated:
        self.refused += 1
        return Saturated(self.name, max(1, math.ceil(expected_s)))

    def observe(self, held_s: float) -> None:
        """Feed the time one slot was held into the moving average."""
        self.served += 1
        self.mean_hold_s += HOLD_WEIGHT * (held_s - self.mean_hold_s)

    async def acquire(self, *, priority: bool = False) -> None:
        """Take a slot, waiting on the event loop; raise ``Saturated`` past the bounds."""
        if self.holders < self.capacity and not self.waiting:
            self.holders += 1
            return
        if not priority:
            expected = self.expected_wait_s()
            if len(self._waiters) >= self.queue or expected > self.wait_s:
                raise self._refuse(expected)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._priority if priority else self._waiters).append(future)
        try:
            if priority:
                await future
            else:
                await asyncio.wait_for(future, self.wait_s)
        except BaseException as err:
            self._forget(future)
            if isinstance(err, TimeoutError):
                raise self._refuse(self.expected_wait_s()) from None
            raise

    def _forget(self, future: asyncio.Future[None]) -> None:
        """A waiter gave up: drop it; if its slot had just arrived, pass the slot on."""
        if future.done() and not future.cancelled():
            self.release()
            return
        for queue in (self._priority, self._waiters):
            with contextlib.suppress(ValueError):
                queue.remove(future)

    def release(self) -> None:
        """Give the slot back: to the first live waiter, priority first."""
        for queue in (self._priority, self._waiters):
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)  # the slot changes hands; ``holders`` stays
                    return
        self.holders -= 1

    @contextlib.asynccontextmanager
    async def hold(self, *, priority: bool = False) -> AsyncIterator[None]:
        """Hold a slot for the body of the ``async with``."""
        await self.acquire(priority=priority)
        began = time.monotonic()
        try:
            yield
        finally:
            self.observe(time.monotonic() - began)
            self.release()
