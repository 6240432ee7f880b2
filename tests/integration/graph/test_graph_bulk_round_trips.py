"""How many round trips a group grant costs, and what the group cache saves.

A group grant needs the group (to refuse unchangeable ones), the held-before read and the write.
The group and the held-before read go in one ``$batch``; with a ``GroupCache`` the group is read
once for many writes.
"""

from __future__ import annotations

import pytest

from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.operations import bulk, groups
from jitgate.graph.operations.group_cache import GroupCache
from jitgate.graph.operations.models import AccessChange, Action, Outcome, Permission

pytestmark = pytest.mark.anyio


@pytest.fixture
def sent(monkeypatch) -> list[list[BatchRequest]]:
    """Every ``BatchExecutor.execute`` call's requests (the calls still go to the emulator)."""
    calls: list[list[BatchRequest]] = []
    real = BatchExecutor.execute

    async def spy(self: BatchExecutor, requests):
        calls.append(list(requests))
        return await real(self, requests)

    monkeypatch.setattr(BatchExecutor, "execute", spy)
    return calls


async def test_a_group_grant_is_one_round_of_reads_then_the_write(graph, names, sent):
    group_id, user = names["Production Access"], names["grady"]
    await groups.list_group_members(graph, group_id)  # the token is cached from here on
    before = graph.requests_sent
    sent.clear()
    (result,) = await bulk.apply_changes(
        graph, [AccessChange(Action.GRANT, user, group_id, Permission.MEMBER)]
    )
    assert result.outcome is Outcome.APPLIED
    assert not result.ambiguous
    assert graph.requests_sent - before == 2  # one $batch of reads, one $batch with the write
    reads, writes = [call for call in sent if call]
    assert [r.method for r in reads] == ["GET", "GET"]  # the group, and whether grady holds it
    assert [r.method for r in writes] == ["POST"]
    members = await groups.list_group_members(graph, group_id)
    assert user in {m.id for m in members.items}


async def test_the_cache_reads_a_group_once_for_many_writes(graph, names, sent):
    group_id = names["Production Access"]
    cache = GroupCache(graph.timer.monotonic)
    for who in ("grady", "lee"):
        change = AccessChange(Action.GRANT, names[who], group_id, Permission.MEMBER)
        (result,) = await bulk.apply_changes(graph, [change], cache=cache)
        assert result.outcome is Outcome.APPLIED
    group_reads = [r for call in sent for r in call if r.url.startswith(f"/groups/{group_id}?")]
    assert len(group_reads) == 1
    assert len(cache) == 1


async def test_an_expired_entry_is_read_again(graph, names, sent):
    group_id = names["Production Access"]
    cache = GroupCache(graph.timer.monotonic, ttl_s=60.0)
    change = AccessChange(Action.GRANT, names["grady"], group_id, Permission.MEMBER)
    await bulk.apply_changes(graph, [change], cache=cache)
    await graph.timer.sleep(61.0)
    (again,) = await bulk.apply_changes(graph, [change], cache=cache)
    assert again.outcome is Outcome.ALREADY_PRESENT
    group_reads = [r for call in sent for r in call if r.url.startswith(f"/groups/{group_id}?")]
    assert len(group_reads) == 2


async def test_a_cached_unchangeable_group_is_still_refused_without_a_write(graph, names, sent):
    group_id = names["All Employees (dynamic)"]
    cache = GroupCache(graph.timer.monotonic)
    change = AccessChange(Action.GRANT, names["grady"], group_id, Permission.MEMBER)
    for _ in range(2):
        (result,) = await bulk.apply_changes(graph, [change], cache=cache)
        assert result.outcome is Outcome.FAILED
        assert result.error_code == "UnchangeableGroup"
    assert not [r for call in sent for r in call if r.method != "GET"]
