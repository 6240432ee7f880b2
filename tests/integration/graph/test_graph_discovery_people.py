"""User discovery reads managers (``$expand``, then ``manager@delta``); memberships of interest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jitgate.connector.discover import run_discovery
from jitgate.graph.operations import discovery, memberships
from jitgate.graph.operations.models import User
from jitgate.protocol.v1 import DiscoveredUser, DiscoverPayload, JobSpec, ResourceType

pytestmark = pytest.mark.anyio


async def test_full_sync_reads_managers_and_delta_reports_manager_changes(state, graph, names):
    sent = graph.requests_sent
    users = discovery.discover_users(graph)
    found = {u.id: u async for u in users if isinstance(u, User)}
    assert len(found) == len(state.tenant.users)
    assert graph.requests_sent - sent == 2  # the latest delta link and one page of 100
    assert found[names["grady"]].manager_id == names["alex"]
    assert found[names["lee"]].manager_id == names["johanna"]
    assert found[names["megan"]].manager_id == ""  # read: she has none

    with state.tenant.lock:  # another admin moves Grady under Megan and clears Lee's manager
        state.tenant.managers[names["grady"]] = names["megan"]
        state.tenant.touch("user", names["grady"])
        del state.tenant.managers[names["lee"]]
        state.tenant.touch("user", names["lee"])
    delta = discovery.discover_users(graph, delta_link=users.delta_link)
    changed = {u.id: u.manager_id async for u in delta if isinstance(u, User)}
    assert changed == {names["grady"]: names["megan"], names["lee"]: ""}


async def test_memberships_of_interest_by_id_and_name(state, graph, names):
    found = await memberships.read_memberships(
        graph, ["Engineering", names["Production Access"], "No Such Group"]
    )
    engineering, prod = names["Engineering"], names["Production Access"]
    assert found.groups == {engineering: "Engineering", prod: ""}
    assert found.by_user == {
        names["alex"]: [engineering],
        names["diego"]: [engineering, prod],
        names["grady"]: [engineering],
        names["nestor"]: [engineering],
    }
    assert found.request_ids  # one $batch of names, one $batch of member reads


async def test_connector_round_reports_groups_and_members_not_otherwise_read(state, graph, names):
    payload = DiscoverPayload(resource_types=[], member_groups=["Engineering"])
    spec = JobSpec(
        id="j1",
        kind="discover",
        integration_id="i1",
        attempt=1,
        max_attempts=3,
        lease_token="t",
        lease_expires_at=datetime.now(UTC),
        payload=payload,
        enabled_resource_types=[ResourceType.GROUP],
    )
    posted: list[DiscoveredUser] = []

    async def sink(_spec, _page, items):
        posted.extend(i for i in items if isinstance(i, DiscoveredUser))

    result = await run_discovery(graph, spec, payload, sink)
    by_id = {u.id: u for u in posted}
    assert by_id[names["grady"]].group_ids == [names["Engineering"]]
    assert by_id[names["grady"]].manager_id == names["alex"]
    assert by_id[names["lee"]].group_ids == []
    assert not any(u.membership_only for u in posted)

    posted.clear()
    with state.tenant.lock:
        state.tenant.touch("user", names["grady"])
    delta = payload.model_copy(
        update={"mode": "delta", "users_delta_link": result.data.users_delta_link}
    )
    await run_discovery(graph, spec, delta, sink)
    assert [(u.id, u.membership_only) for u in posted if u.id == names["grady"]] == [
        (names["grady"], False)
    ]
    only = {u.id for u in posted if u.membership_only}
    assert only == {names["alex"], names["diego"], names["nestor"]}
