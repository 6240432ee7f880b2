from __future__ import annotations

import asyncio

import pytest

from jitgate.graph.limiter import AdaptiveLimiter, Budget, Priority
from jitgate.graph.retry import FakeTimer

pytestmark = pytest.mark.anyio


def small_budget(**kw) -> Budget:
    base = {
        "ru_capacity": 100.0,
        "ru_window_s": 10.0,
        "write_capacity": 10.0,
        "write_window_s": 10.0,
        "utilisation": 1.0,
        "max_in_flight": 4,
    }
    base.update(kw)
    return Budget(**base)


async def test_writes_are_paced_at_the_budget_rate():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(), timer=timer)
    for _ in range(30):
        await limiter.acquire(Priority.GRANT, ru=1, writes=1)
    # 10 from the full bucket, then 20 more at 1 write/s.
    assert timer.now == pytest.approx(20.0, abs=0.01)


class GatedTimer(FakeTimer):
    """Sleeps do not end until the gate opens: every waiter is queued before time moves."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.gate.wait()
        await super().sleep(seconds)


async def test_priorities_revocations_then_grants_then_reads():
    timer = GatedTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=1.0), timer=timer)
    await limiter.acquire(Priority.GRANT, writes=1)  # empty the write bucket
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await limiter.acquire(priority, writes=1)
        order.append(name)

    async with asyncio.TaskGroup() as group:
        group.create_task(take("read", Priority.READ))
        group.create_task(take("grant", Priority.GRANT))
        group.create_task(take("revoke", Priority.REVOKE))
        group.create_task(take("grant2", Priority.GRANT))
        group.create_task(take("revoke2", Priority.REVOKE))
        for _ in range(10):
            await asyncio.sleep(0)
        timer.gate.set()
    assert order == ["revoke", "revoke2", "grant", "grant2", "read"]


async def test_a_429_pauses_everyone_and_halves_the_rate():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(), timer=timer)
    limiter.throttled(3.0)
    assert limiter.rate_factor == 0.5
    await limiter.acquire(Priority.READ, ru=1)
    assert timer.now >= 3.0
    assert limiter.stats.throttled == 1
    for _ in range(20):
        limiter.observe({}, ru=1, writes=0)
    assert limiter.rate_factor == 1.0  # additive recovery


async def test_limit_percentage_header_slows_us_before_a_429():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=100.0, max_in_flight=1), timer=timer)
    limiter.observe({"x-ms-throttle-limit-percentage": "0.9"}, ru=1, writes=1)
    # the server says 90 % is used: only about 10 writes remain, not 100
    for _ in range(9):
        await limiter.acquire(Priority.GRANT, writes=1)
    assert timer.now == pytest.approx(0.0)
    await limiter.acquire(Priority.GRANT, writes=1)
    assert timer.now > 0.0


async def test_resource_unit_header_debits_the_real_cost():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(ru_capacity=10.0), timer=timer)
    await limiter.acquire(Priority.READ, ru=1)
    limiter.observe({"x-ms-resource-unit": "5"}, ru=1, writes=0)
    for _ in range(6):
        await limiter.acquire(Priority.READ, ru=1)
    assert timer.now == pytest.approx(1.0, abs=0.01)  # 1 + 4 (debited) + 5 free, the 6th waits


def test_tiers():
    assert Budget.for_tier("s").ru_capacity == 3500
    assert Budget.for_tier("L").ru_capacity == 8000
    assert Budget().write_rate == pytest.approx(3000 / 150 * 0.97)
