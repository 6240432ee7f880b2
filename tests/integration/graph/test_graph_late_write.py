"""A write that times out on the client still lands in Graph, later (real HTTPS, real timer).

The emulator, like Graph, applies a slow request after its delay even when the client has given
up on the answer. This is how a revoked membership comes back: the client's retry adds the
member, the broker removes it, and then the first, timed-out add lands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.graph.operations import bulk, groups
from jitgate.graph.operations.models import AccessChange, Action, Outcome
from jitgate.graph.retry import RetryPolicy
from jitgate.protocol.v1 import Permission
from polling import wait_for_async

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jitgate.emulator.server import RunningEmulator

pytestmark = pytest.mark.anyio
SLOW_MS = 800.0


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[RunningEmulator]:
    running = start_in_thread(build_state(), data_dir=tmp_path_factory.mktemp("emulator"))
    try:
        yield running
    finally:
        running.stop()


def connect(emulator: RunningEmulator) -> GraphClient:
    state = emulator.state
    config = GraphConfig(
        tenant_id=state.tenant.tenant_id,
        auth=ClientSecretAuth(client_id=state.client_id, client_secret=state.client_secret),
        authority_host=emulator.authority_host,
        graph_url=emulator.graph_url.removesuffix("/v1.0"),
        disable_instance_discovery=True,
        ca_bundle=emulator.ca_bundle,
        read_timeout_s=0.2,
    )
    client = GraphClient.from_config(config)
    client.retry = RetryPolicy(max_attempts=4, deadline_s=30.0, base_delay_s=0.02)
    return client


async def is_member(graph: GraphClient, group_id: str, user_id: str) -> bool:
    members = await groups.list_group_members(graph, group_id)
    return user_id in {m.id for m in members.items}


async def test_a_timed_out_add_lands_after_the_revoke_and_was_reported_ambiguous(
    emulator, monkeypatch
):
    async def nothing_held(*_args: object) -> set[int]:
        return set()  # the reads before the write would take the slow answer (next test)

    monkeypatch.setattr(bulk, "_read_before", nothing_held)
    tenant = emulator.state.tenant
    user = next(u["id"] for u in tenant.users.values() if u["userPrincipalName"][:4] == "lee@")
    group_id = next(g["id"] for g in tenant.groups.values() if g["displayName"][:4] == "Prod")
    async with connect(emulator) as graph:
        group, _ = await groups.get_group(graph, group_id)
        known = {group_id: group}
        emulator.state.settings.update(
            {"faults": [{"route": "POST /v1.0/$batch", "latency_ms": SLOW_MS, "count": 1}]}
        )
        try:
            grant = AccessChange(Action.GRANT, user, group_id, Permission.MEMBER)
            (granted,) = await bulk.apply_changes(graph, [grant], groups=known)
            assert granted.outcome is Outcome.APPLIED  # the retry added the member
            assert granted.ambiguous  # ... and the first try's answer was lost
            revoke = AccessChange(Action.REVOKE, user, group_id, Permission.MEMBER)
            (revoked,) = await bulk.apply_changes(graph, [revoke], groups=known)
            assert revoked.outcome is Outcome.APPLIED
            assert not revoked.ambiguous
            await wait_for_async(  # the first add is still sleeping in the emulator
                lambda: is_member(graph, group_id, user),
                timeout_s=5,
                interval_s=0.1,
                message="the late add to land",
            )
            assert await is_member(graph, group_id, user)  # it landed after the revoke
        finally:
            emulator.state.settings.update({"faults": []})
            await bulk.apply_changes(
                graph,
                [AccessChange(Action.REVOKE, user, group_id, Permission.MEMBER)],
                groups=known,  # the patched read-before loads no group
            )
            assert not await is_member(graph, group_id, user)


async def test_already_present_after_a_lost_answer_is_not_ambiguous_when_read_before(
    emulator, monkeypatch
):
    """The read before the write saw the member: whatever lands later changes nothing."""
    read_before = bulk._read_before

    async def then_slow(*args):
        held = await read_before(*args)
        emulator.state.settings.update(
            {"faults": [{"route": "POST /v1.0/$batch", "latency_ms": SLOW_MS, "count": 1}]}
        )
        return held

    tenant = emulator.state.tenant
    user = next(u["id"] for u in tenant.users.values() if u["userPrincipalName"][:4] == "lee@")
    group_id = next(g["id"] for g in tenant.groups.values() if g["displayName"][:4] == "Prod")
    grant = AccessChange(Action.GRANT, user, group_id, Permission.MEMBER)
    async with connect(emulator) as graph:
        group, _ = await groups.get_group(graph, group_id)
        (first,) = await bulk.apply_changes(graph, [grant], groups={group_id: group})
        assert first.outcome is Outcome.APPLIED
        monkeypatch.setattr(bulk, "_read_before", then_slow)
        try:
            (again,) = await bulk.apply_changes(graph, [grant], groups={group_id: group})
            assert again.outcome is Outcome.ALREADY_PRESENT
            assert not again.ambiguous
            assert emulator.state.settings.faults[0].count == 0  # the write's answer was lost
        finally:
            emulator.state.settings.update({"faults": []})
            await bulk.apply_changes(
                graph, [AccessChange(Action.REVOKE, user, group_id, Permission.MEMBER)]
            )
