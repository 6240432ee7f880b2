"""Full group discovery reads owners through ``$expand`` and re-reads only groups at the cap."""

from __future__ import annotations

import pytest

from jitgate.emulator.generate import generate
from jitgate.graph.operations import discovery
from jitgate.graph.operations.models import Group

pytestmark = pytest.mark.anyio


async def full_group_sync(graph) -> tuple[dict[str, Group], int]:
    """Every group of a full sync by id, and the Graph requests it took."""
    sent = graph.requests_sent
    sync = discovery.discover_groups(graph)
    found = {g.id: g async for g in sync if isinstance(g, Group)}
    assert sync.delta_link
    return found, graph.requests_sent - sent


async def test_owners_come_from_the_expansion_and_a_group_of_25_gets_all_25(state, graph, names):
    with state.tenant.lock:
        generate(state.tenant, users=30)  # users only: enough owners to pass the cap
    before, requests = await full_group_sync(graph)
    assert len(before) == len(state.tenant.groups)
    assert before[names["Production Access"]].owners == ("alex@contoso.onmicrosoft.com",)
    assert requests == 2  # the latest delta link and one listing page: no owner reads

    group = names["Production Access"]
    extra = sorted(u for u in state.tenant.users if u not in state.tenant.owners[group])[:24]
    assert len(extra) == 24
    with state.tenant.lock:
        for user in extra:
            state.tenant.add_member(group, user, owners=True)
    expected = {state.tenant.users[u]["userPrincipalName"] for u in state.tenant.owners[group]}
    assert len(expected) == 25

    after, requests = await full_group_sync(graph)
    assert set(after[group].owners) == expected
    assert len(after[group].owners) == 25
    assert requests == 3  # plus one $batch, for the one group whose expansion hit 20
    assert {k: v for k, v in after.items() if k != group} == {
        k: v for k, v in before.items() if k != group
    }
