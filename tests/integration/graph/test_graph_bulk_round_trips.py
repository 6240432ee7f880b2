"""How many round trips a group grant costs, and what the group cache saves.

A group grant needs the group (to refuse unchangeable ones), the held-before read and the write.
The group and the held-before read go in one ``$batch``; with a ``GroupCache`` the group is read
once for many writes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.operations import bulk, groups, roles
from jitgate.graph.operations.group_cache import GroupCache
from jitgate.graph.operations.models import AccessChange, Action, Outcome
from jitgate.protocol.v1 import Permission

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


HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


@pytest.fixture
def lost_write_answer(monkeypatch):
    """The write round's answer is lost: it lands, and the retry's answer is all we get."""
    real = BatchExecutor.execute

    async def lose(self: BatchExecutor, requests):
        if not any(r.method == "POST" for r in requests):
            return await real(self, requests)
        await real(self, requests)  # it lands in Graph; the client never hears
        answers = await real(self, requests)  # the retry: "already exists"
        return [replace(a, ambiguous=True, attempts=2) for a in answers]

    monkeypatch.setattr(BatchExecutor, "execute", lose)


async def test_a_role_grant_held_before_is_standing_even_after_a_lost_answer(
    graph, names, lost_write_answer
):
    user = names["diego"]
    scope = f"/administrativeUnits/{names['EMEA']}"
    await roles.assign_role(
        graph, principal_id=user, role_definition_id=HELPDESK, directory_scope_id=scope
    )
    change = AccessChange(Action.GRANT, user, HELPDESK, Permission.ACTIVE, scope)
    (result,) = await bulk.apply_changes(graph, [change])
    assert result.outcome is Outcome.ALREADY_PRESENT
    assert not result.ambiguous  # the read before the write saw the role


async def test_a_role_grant_not_held_before_stays_ambiguous_after_a_lost_answer(
    graph, names, lost_write_answer
):
    user = names["diego"]
    other_scope = f"/administrativeUnits/{names['EMEA']}"
    await roles.assign_role(  # the same role at another scope does not count
        graph, principal_id=user, role_definition_id=HELPDESK, directory_scope_id=other_scope
    )
    change = AccessChange(Action.GRANT, user, HELPDESK, Permission.ACTIVE, "/")
    (result,) = await bulk.apply_changes(graph, [change])
    assert result.outcome is Outcome.ALREADY_PRESENT
    assert result.ambiguous  # the broker's own first try, as far as anyone can tell
