"""The client over real HTTPS (loopback, the emulator's test CA), with the real timer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.graph.errors import GraphTransient
from jitgate.graph.operations import bulk, discovery, groups, selfcheck
from jitgate.graph.operations.models import AccessChange, Action, Group, Outcome
from jitgate.graph.retry import RetryPolicy
from jitgate.protocol.v1 import Permission

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jitgate.emulator.server import RunningEmulator

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[RunningEmulator]:
    running = start_in_thread(build_state(), data_dir=tmp_path_factory.mktemp("emulator"))
    try:
        yield running
    finally:
        running.stop()


def connect(emulator: RunningEmulator, **kw) -> GraphClient:
    state = emulator.state
    config = GraphConfig(
        tenant_id=state.tenant.tenant_id,
        auth=ClientSecretAuth(client_id=state.client_id, client_secret=state.client_secret),
        authority_host=emulator.authority_host,
        graph_url=emulator.graph_url.removesuffix("/v1.0"),
        disable_instance_discovery=True,
        ca_bundle=emulator.ca_bundle,
        **kw,
    )
    client = GraphClient.from_config(config)
    client.retry = RetryPolicy(max_attempts=4, deadline_s=30.0, base_delay_s=0.05)
    return client


def names(emulator: RunningEmulator) -> dict[str, str]:
    tenant = emulator.state.tenant
    out = {u["userPrincipalName"].split("@")[0]: u["id"] for u in tenant.users.values()}
    out.update({g["displayName"]: g["id"] for g in tenant.groups.values()})
    return out


@pytest.fixture(autouse=True)
def clean_knobs(emulator):
    yield
    emulator.state.settings.update({"faults": [], "latency_ms": 0.0})


async def test_sign_in_discover_and_self_check_over_https(emulator):
    async with connect(emulator) as graph:
        report = await selfcheck.self_check(graph)
        assert report.ok, report.missing
        found = [g async for g in discovery.discover_groups(graph) if isinstance(g, Group)]
        assert len(found) == len(emulator.state.tenant.groups)


async def test_grant_and_revoke_over_https_through_a_429_storm(emulator):
    ids = names(emulator)
    prod = ids["Production Access"]
    emulator.state.settings.update(
        {"faults": [{"route": "POST /v1.0/groups", "status": 429, "count": 2, "retry_after": 0.2}]}
    )
    async with connect(emulator) as graph:
        grant = [AccessChange(Action.GRANT, ids["lee"], prod, Permission.MEMBER)]
        (granted,) = await bulk.apply_changes(graph, grant)
        assert granted.outcome is Outcome.APPLIED
        assert graph.limiter.stats.throttled == 2  # inner 429s, retried after Retry-After
        members = await groups.list_group_members(graph, prod)
        assert ids["lee"] in {m.id for m in members.items}
        revoke = [AccessChange(Action.REVOKE, ids["lee"], prod, Permission.MEMBER)]
        (revoked,) = await bulk.apply_changes(graph, revoke)
        assert revoked.outcome is Outcome.APPLIED
        assert revoked.request_ids


async def test_dropped_connections_and_5xx_over_https(emulator):
    ids = names(emulator)
    emulator.state.settings.update(
        {
            "faults": [
                {"route": "GET /v1.0/groups", "status": 0, "count": 1},
                {"route": "GET /v1.0/groups", "status": 503, "count": 1},
                {"route": "GET /v1.0/groups", "status": 504, "count": 1},
            ]
        }
    )
    async with connect(emulator) as graph:
        owners = await groups.list_group_owners(graph, ids["Engineering"])
        assert [o.id for o in owners.items] == [ids["alex"]]


async def test_read_timeouts_are_transient_and_bounded(emulator):
    ids = names(emulator)
    async with connect(emulator, read_timeout_s=0.1) as graph:
        await graph.tokens.token()
        graph.retry = RetryPolicy(max_attempts=2, base_delay_s=0.01)
        emulator.state.settings.update({"latency_ms": 500.0})
        with pytest.raises(GraphTransient, match="timed out"):
            await groups.list_group_owners(graph, ids["Engineering"])
        assert graph.requests_sent == 2
