"""Group member delta reads against the emulator in-process: full round, changes, merge, restart."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from jitgate.graph.errors import GraphNotFound
from jitgate.graph.operations import groups
from jitgate.graph.operations.member_delta import read_member_delta
from jitgate.graph.operations.models import PrincipalKind

pytestmark = pytest.mark.anyio


def _user(state, key: str) -> str:
    user_id = str(uuid.uuid4())
    with state.tenant.lock:
        state.tenant.add_object(
            "user",
            {
                "id": user_id,
                "displayName": key,
                "userPrincipalName": f"{key}@contoso.onmicrosoft.com",
                "accountEnabled": True,
                "userType": "Member",
            },
        )
    return user_id


async def _direct_members(graph, group_id: str) -> set[str]:
    listing = await groups.list_group_members(graph, group_id)
    return {m.id for m in listing.items}


async def test_initial_round_is_every_direct_member_then_only_changes(state, graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    assert first.full
    assert not first.restarted
    assert {m.id for m in first.present} == await _direct_members(graph, group_id)
    assert first.removed == ()
    assert first.delta_link
    assert first.request_ids

    unchanged = await read_member_delta(graph, group_id, first.delta_link)
    assert (unchanged.full, unchanged.present, unchanged.removed) == (False, (), ())
    assert len(unchanged.request_ids) == 1, "an unchanged group costs one request"

    gone = next(m.id for m in first.present)
    newcomer = _user(state, "newcomer")
    with state.tenant.lock:
        state.tenant.add_member(group_id, newcomer)
        state.tenant.remove_member(group_id, gone)
    changes = await read_member_delta(graph, group_id, unchanged.delta_link)
    assert not changes.full
    assert [(m.id, m.kind) for m in changes.present] == [(newcomer, PrincipalKind.USER)]
    assert [m.id for m in changes.removed] == [gone]
    assert changes.delta_link

    quiet = await read_member_delta(graph, group_id, changes.delta_link)
    assert (quiet.present, quiet.removed) == ((), ())


async def test_changes_in_other_groups_are_not_reported(state, graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    with state.tenant.lock:
        state.tenant.add_member(names["Production Access"], _user(state, "elsewhere"))
    later = await read_member_delta(graph, group_id, first.delta_link)
    assert (later.present, later.removed) == ((), ())


async def test_a_member_added_then_removed_is_reported_removed_once(state, graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    passing = _user(state, "passing")
    with state.tenant.lock:
        state.tenant.add_member(group_id, passing)
        state.tenant.remove_member(group_id, passing)
    later = await read_member_delta(graph, group_id, first.delta_link)
    assert later.present == ()
    assert [m.id for m in later.removed] == [passing]


async def test_nested_groups_are_direct_members_as_in_the_full_read(state, graph, names):
    group_id = names["Finance Readers"]
    with state.tenant.lock:
        state.tenant.add_member(group_id, names["Production Access"])
    found = await read_member_delta(graph, group_id)
    kinds = {m.id: m.kind for m in found.present}
    assert kinds[names["Production Access"]] is PrincipalKind.GROUP
    assert set(kinds) == await _direct_members(graph, group_id)


async def test_a_big_group_split_across_pages_is_merged(state, graph, names):
    state.settings.delta_member_chunk = 7
    state.settings.delta_page_size = 2
    group_id = names["Finance Readers"]
    added = [_user(state, f"bulk{i}") for i in range(40)]
    with state.tenant.lock:
        for user_id in added:
            state.tenant.add_member(group_id, user_id)
    first = await read_member_delta(graph, group_id)
    assert len(first.request_ids) > 1, "the group came back over several pages"
    assert {m.id for m in first.present} == await _direct_members(graph, group_id)
    assert set(added) <= {m.id for m in first.present}

    with state.tenant.lock:
        for user_id in added[:20]:
            state.tenant.remove_member(group_id, user_id)
    later = await read_member_delta(graph, group_id, first.delta_link)
    assert later.present == ()
    assert {m.id for m in later.removed} == set(added[:20])


async def test_a_garbled_link_restarts_with_a_full_round(graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    broken = first.delta_link.split("$deltatoken=")[0] + "$deltatoken=not-a-token"
    again = await read_member_delta(graph, group_id, broken)
    assert (again.full, again.restarted) == (True, True)
    assert {m.id for m in again.present} == {m.id for m in first.present}
    assert again.delta_link


async def test_an_expired_link_restarts_with_a_full_round(state, graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    state.settings.delta_token_days = 0  # Graph keeps them 7 days; the client's token less
    state.tenant.clock.advance(timedelta(seconds=1))
    again = await read_member_delta(graph, group_id, first.delta_link)
    assert (again.full, again.restarted) == (True, True)
    assert {m.id for m in again.present} == await _direct_members(graph, group_id)
    state.settings.delta_token_days = 7
    later = await read_member_delta(graph, group_id, again.delta_link)
    assert (later.full, later.present, later.removed) == (False, (), ())


async def test_a_forced_resync_restarts_with_a_full_round(state, graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    epoch = state.tenant.pim_table("_delta").setdefault("epoch", {"n": 0})
    epoch["n"] += 1  # what POST /_admin/delta/resync does: Graph answers 410 Gone
    again = await read_member_delta(graph, group_id, first.delta_link)
    assert (again.full, again.restarted) == (True, True)


async def test_a_link_to_another_host_is_never_followed(graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    foreign = "https://attacker.example/v1.0/groups/delta?$deltatoken=x"
    again = await read_member_delta(graph, group_id, foreign)
    assert (again.full, again.restarted) == (True, True)
    assert {m.id for m in again.present} == {m.id for m in first.present}


async def test_a_missing_group_is_not_found_like_the_full_read(graph):
    with pytest.raises(GraphNotFound):
        await read_member_delta(graph, str(uuid.uuid4()))


async def test_a_deleted_group_is_not_found(state, graph, names):
    group_id = names["Finance Readers"]
    first = await read_member_delta(graph, group_id)
    with state.tenant.lock:
        state.tenant.delete_object(group_id)
    with pytest.raises(GraphNotFound):
        await read_member_delta(graph, group_id, first.delta_link)
