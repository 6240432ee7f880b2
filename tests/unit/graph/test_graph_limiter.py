from __future__ import annotations

import asyncio

import pytest

from jitgate.graph.buckets import HEADROOM, MIN_DECREASE
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
    # 10 from the full bucket, then 20 more at 1 write/s (a little faster: demand exceeds the
    # rate, so it probes upwards by 1 % a second; the tier is no ceiling)
    assert 18.0 <= timer.now <= 20.0


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


async def test_a_429_pauses_everyone_for_its_retry_after():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(), timer=timer)
    limiter.throttled(3.0)
    await limiter.acquire(Priority.READ, ru=1)
    assert timer.now >= 3.0
    assert limiter.stats.throttled == 1
    assert limiter.stats.episodes == 1


async def drain_writes(limiter: AdaptiveLimiter, count: int) -> None:
    for _ in range(count):
        await limiter.acquire(Priority.GRANT, ru=1, writes=1)


async def test_the_first_429_of_a_burst_learns_the_capacity_not_the_rate():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=100.0, write_window_s=100.0), timer=timer)
    await drain_writes(limiter, 30)  # the server's bucket held 30, not our guessed 100
    limiter.throttled(0.5, sent_at=timer.now, sent=(20, 20), admitted=(0, 0))
    assert limiter.write_capacity == pytest.approx(30.0)
    assert limiter.write_rate == pytest.approx(1.0)  # the rate is untouched


async def learnt(limiter: AdaptiveLimiter, timer: FakeTimer) -> None:
    """Spend the burst and learn the capacity, as a first throttling episode does."""
    await drain_writes(limiter, 10)
    limiter.throttled(0.1, sent_at=timer.now, sent=(1, 1))
    timer.now += 5.0


async def test_inner_429s_of_one_batch_and_its_neighbours_are_one_episode():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=20.0, write_window_s=2.0), timer=timer)
    await learnt(limiter, timer)  # 10 writes/s configured
    await drain_writes(limiter, 100)  # ten seconds at the configured pace
    first = timer.now
    second = first - 0.5
    rate = limiter.write_rate
    # one $batch of 20: 4 inner 429s; two more batches sent before the first answer came back
    limiter.throttled(0.2, sent_at=first, answers=4, sent=(20, 20), admitted=(16, 16))
    decreased = limiter.write_rate
    limiter.throttled(0.2, sent_at=second, answers=20, sent=(20, 20), admitted=(0, 0))
    limiter.throttled(0.2, sent_at=second, answers=20, sent=(20, 20), admitted=(0, 0))
    assert limiter.stats.throttled == 1 + 44
    assert limiter.stats.episodes == 2  # the burst's, and this one
    assert decreased < rate * MIN_DECREASE * 1.001
    assert limiter.write_rate == decreased  # one decrease for the whole episode


async def test_a_decrease_follows_what_the_server_admitted_between_two_empty_moments():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=20.0, write_window_s=2.0), timer=timer)
    await learnt(limiter, timer)  # the server's bucket is empty now
    limiter.throttled(0.1, sent_at=timer.now + 0.01, sent=(1, 1))  # nothing yet to measure
    start = limiter._writes.empty_at  # when the burst was learnt: the server's bucket empty
    rate = limiter.write_rate
    await drain_writes(limiter, 60)
    # of the 60 sent since, the server refused 30 (in answers of a few requests) and one more
    # before: it admitted 29 (the 10 of the burst were taken before it was seen empty)
    limiter.throttled(0.1, sent_at=timer.now, sent=(30, 30), admitted=(0, 0))
    admitted = 29 / (timer.now - start)
    assert limiter.write_rate == pytest.approx(admitted * HEADROOM, rel=0.01)
    assert limiter.write_rate < rate


async def test_too_soon_to_measure_it_halves_once_then_takes_small_steps():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=20.0, write_window_s=2.0), timer=timer)
    await learnt(limiter, timer)
    timer.now -= 5.0  # right after the burst was learnt
    rate = limiter.write_rate
    limiter.throttled(0.1, sent_at=timer.now + 0.01, sent=(1, 1))
    assert limiter.write_rate == pytest.approx(rate / 2)
    timer.now += 0.1
    limiter.throttled(0.1, sent_at=timer.now, sent=(1, 1))
    assert limiter.write_rate == pytest.approx(rate / 2 * MIN_DECREASE)
    assert limiter.stats.episodes == 3


async def test_recovery_probes_upwards_only_while_demand_exceeds_the_rate():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=20.0, write_window_s=2.0), timer=timer)
    await learnt(limiter, timer)
    await drain_writes(limiter, 100)
    limiter.throttled(0.1, sent_at=timer.now, sent=(20, 20))
    rate = limiter.write_rate
    assert rate < 9.0
    timer.now += 600.0  # idle: no demand, no probing
    await limiter.acquire(Priority.GRANT, writes=1)
    assert limiter.write_rate == pytest.approx(rate)
    await drain_writes(limiter, 1500)  # minutes of more demand than the rate
    assert limiter.write_rate > rate * 1.5
    # the configured tier is no ceiling: with demand and no 429, the rate goes past it
    await drain_writes(limiter, 20000)
    assert limiter.write_rate > 10.0


async def test_a_limit_percentage_header_caps_the_burst_but_never_lowers_the_rate():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=20.0, write_window_s=2.0), timer=timer)
    await learnt(limiter, timer)
    rate = limiter.write_rate
    for _ in range(100):
        await drain_writes(limiter, 10)
        limiter.observe({"x-ms-throttle-limit-percentage": "1.0"}, ru=10, writes=10)
        assert limiter._writes.tokens <= 0.0  # nothing left to burst with
    assert limiter.write_rate >= rate
    assert limiter.stats.episodes == 1


async def test_the_limit_percentage_header_learns_the_burst():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=100.0, write_window_s=100.0), timer=timer)
    await drain_writes(limiter, 16)
    # 16 drawn and the server says 80 % used: its bucket holds 20, and 4 are left
    limiter.observe({"x-ms-throttle-limit-percentage": "0.8"}, ru=1, writes=1)
    assert limiter.write_capacity == pytest.approx(20.0)
    start = timer.now
    await drain_writes(limiter, 4)
    assert timer.now == pytest.approx(start)
    await drain_writes(limiter, 1)
    assert timer.now > start


async def test_revocations_still_go_first_after_a_throttling_pause():
    timer = GatedTimer()
    limiter = AdaptiveLimiter(small_budget(), timer=timer)
    limiter.throttled(2.0)
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await limiter.acquire(priority, writes=1)
        order.append(name)

    async with asyncio.TaskGroup() as group:
        group.create_task(take("read", Priority.READ))
        group.create_task(take("grant", Priority.GRANT))
        group.create_task(take("revoke", Priority.REVOKE))
        for _ in range(10):
            await asyncio.sleep(0)
        timer.gate.set()
    assert order == ["revoke", "grant", "read"]
    assert timer.now >= 2.0


async def test_limit_percentage_header_slows_us_before_a_429():
    timer = FakeTimer()
    limiter = AdaptiveLimiter(small_budget(write_capacity=100.0, max_in_flight=1), timer=timer)
    limiter.observe({"x-ms-throttle-limit-percentage": "0.9"}, ru=1, writes=1)
    # the server says 90 % is used: only 10 writes remain, not 100 (none is in flight)
    for _ in range(10):
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
