from __future__ import annotations

import pytest

from jitgate.graph.errors import GraphBadRequest, GraphNotFound, GraphThrottled, GraphTransient
from jitgate.graph.retry import FakeTimer, RetryPolicy, with_retries

pytestmark = pytest.mark.anyio


def no_jitter(ceiling: float) -> float:
    return ceiling


class Flaky:
    def __init__(self, errors):
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


async def test_retry_after_is_honoured_before_backoff():
    timer = FakeTimer()
    call = Flaky([GraphThrottled("slow down", retry_after=2.5), GraphTransient("503")])
    policy = RetryPolicy(base_delay_s=1.0, jitter=no_jitter)
    assert await with_retries(call, policy=policy, timer=timer) == "done"
    assert call.calls == 3
    assert timer.slept == [2.5, 2.0]  # Retry-After, then the 2nd backoff step (1 * 2**1)


async def test_attempts_bound_the_loop():
    timer = FakeTimer()
    call = Flaky([GraphTransient("503")] * 10)
    with pytest.raises(GraphTransient):
        await with_retries(call, policy=RetryPolicy(max_attempts=3, jitter=no_jitter), timer=timer)
    assert call.calls == 3


async def test_deadline_bounds_the_loop_even_with_attempts_left():
    timer = FakeTimer()
    call = Flaky([GraphThrottled("x", retry_after=40.0)] * 10)
    policy = RetryPolicy(max_attempts=50, deadline_s=100.0)
    with pytest.raises(GraphThrottled):
        await with_retries(call, policy=policy, timer=timer)
    assert call.calls == 3  # 0 -> 40 -> 80; a third pause would end at 120 > 100
    assert timer.now <= 100.0


async def test_terminal_errors_are_not_retried():
    call = Flaky([GraphBadRequest("bad")])
    with pytest.raises(GraphBadRequest):
        await with_retries(call, policy=RetryPolicy(), timer=FakeTimer())
    assert call.calls == 1


async def test_not_found_is_retried_only_when_asked_replication_lag():
    call = Flaky([GraphNotFound("lag"), GraphNotFound("lag")])
    policy = RetryPolicy(not_found_attempts=3, jitter=no_jitter)
    assert await with_retries(call, policy=policy, timer=FakeTimer()) == "done"
    call = Flaky([GraphNotFound("gone")])
    with pytest.raises(GraphNotFound):
        await with_retries(call, policy=RetryPolicy(), timer=FakeTimer())


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, jitter=no_jitter)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    jittered = RetryPolicy(base_delay_s=0.5)
    assert all(0 <= jittered.backoff(3) <= 2.0 for _ in range(50))
