"""Lanes: bounded, timed, prioritised admission on the event loop."""

from __future__ import annotations

import asyncio

import pytest

from jitgate.core.lanes import Lane, Saturated


def run(coro):
    return asyncio.run(coro)


def test_capacity_holders_enter_at_once_and_the_next_waits_for_a_release():
    async def scenario():
        lane = Lane("t", capacity=2, queue=5, wait_s=5)
        await lane.acquire()
        await lane.acquire()
        waiter = asyncio.create_task(lane.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()
        assert lane.waiting == 1
        lane.release()
        await waiter
        assert lane.holders == 2  # the slot changed hands; nobody overtook
        assert lane.waiting == 0

    run(scenario())


def test_a_full_queue_refuses_at_once_with_a_retry_after():
    async def scenario():
        lane = Lane("write", capacity=1, queue=1, wait_s=5)
        await lane.acquire()
        queued = asyncio.create_task(lane.acquire())
        await asyncio.sleep(0)
        with pytest.raises(Saturated) as info:
            await lane.acquire()
        assert info.value.lane == "write"
        assert info.value.retry_after_s >= 1
        assert lane.refused == 1
        lane.release()
        await queued

    run(scenario())


def test_a_wait_past_wait_s_is_refused_and_leaves_the_queue():
    async def scenario():
        lane = Lane("t", capacity=1, queue=5, wait_s=0.02)
        await lane.acquire()
        with pytest.raises(Saturated):
            await lane.acquire()
        assert lane.waiting == 0
        lane.release()
        assert lane.holders == 0

    run(scenario())


def test_an_expected_wait_longer_than_wait_s_is_refused_without_waiting():
    async def scenario():
        lane = Lane("t", capacity=1, queue=100, wait_s=1.0)
        for _ in range(20):
            lane.observe(0.6)  # slots have been held about 0.6 s each
        await lane.acquire()
        first = asyncio.create_task(lane.acquire())  # itself alone ahead: ~0.6 s, admitted
        await asyncio.sleep(0)
        assert not first.done()
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(Saturated) as info:
            await lane.acquire()  # 2 x ~0.6 s > 1 s: refused at once
        assert loop.time() - began < lane.wait_s  # refused, not timed out
        assert info.value.retry_after_s >= 1
        lane.release()
        await first

    run(scenario())


def test_priority_waiters_go_first_and_are_not_bounded_by_the_queue():
    async def scenario():
        lane = Lane("write", capacity=1, queue=1, wait_s=5)
        await lane.acquire()
        order: list[str] = []

        async def take(name: str, *, priority: bool) -> None:
            await lane.acquire(priority=priority)
            order.append(name)
            lane.release()

        api = asyncio.create_task(take("api", priority=False))
        await asyncio.sleep(0)
        reconciler = asyncio.create_task(take("reconciler", priority=True))
        connector = asyncio.create_task(take("connector", priority=True))  # queue is full
        await asyncio.sleep(0)
        lane.release()
        await asyncio.gather(api, reconciler, connector)
        assert order == ["reconciler", "connector", "api"]
        assert lane.holders == 0

    run(scenario())


def test_a_cancelled_waiter_whose_slot_just_arrived_passes_it_on():
    async def scenario():
        lane = Lane("t", capacity=1, queue=5, wait_s=5)
        await lane.acquire()
        first = asyncio.create_task(lane.acquire(priority=True))
        second = asyncio.create_task(lane.acquire())
        await asyncio.sleep(0)
        lane.release()  # the slot goes to ``first``…
        first.cancel()  # …which gives up before it runs
        with pytest.raises(asyncio.CancelledError):
            await first
        await second  # the slot went on to the next waiter
        assert lane.holders == 1
        lane.release()
        assert lane.holders == 0

    run(scenario())


def test_hold_releases_on_error():
    async def scenario():
        lane = Lane("t", capacity=1, queue=0, wait_s=1)
        with pytest.raises(RuntimeError):
            async with lane.hold():
                raise RuntimeError
        assert lane.holders == 0
        async with lane.hold():
            assert lane.holders == 1

    run(scenario())


def test_a_lane_needs_capacity():
    with pytest.raises(ValueError, match="capacity"):
        Lane("t", capacity=0, queue=1, wait_s=1)
