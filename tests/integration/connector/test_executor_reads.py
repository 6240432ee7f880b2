"""The executor's membership reads against the emulator: members by delta, owners in full."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest

from jitgate.connector.executor import GraphExecutor
from jitgate.core.clock import ManualClock
from jitgate.emulator.app import create_app as create_emulator
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.graph.config import ClientSecretAuth, GraphConfig
from jitgate.protocol.v1 import (
    JobSpec,
    Outcome,
    Permission,
    ReadMembershipData,
    ReadMembershipPayload,
    ResourceType,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from jitgate.emulator.state import EmulatorState

EMULATOR = "https://emulator.test"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def state() -> EmulatorState:
    return build_state()


@pytest.fixture
async def executor(state: EmulatorState) -> AsyncIterator[GraphExecutor]:
    config = GraphConfig(
        tenant_id=state.tenant.tenant_id,
        auth=ClientSecretAuth(client_id=state.client_id, client_secret=state.client_secret),
        authority_host=EMULATOR,
        graph_url=EMULATOR,
        disable_instance_discovery=True,
    )
    transport = httpx.ASGITransport(app=create_emulator(state))
    async with GraphClient.from_config(config, transport=transport) as client:
        yield GraphExecutor(client, ManualClock())


def _group(state: EmulatorState, name: str) -> str:
    return next(g["id"] for g in state.tenant.groups.values() if g["displayName"] == name)


async def _read(
    executor: GraphExecutor, group_id: str, permission: Permission, link: str | None = None
) -> ReadMembershipData:
    payload = ReadMembershipPayload(
        resource_type=ResourceType.GROUP,
        resource_external_id=group_id,
        permission=permission,
        delta_link=link,
    )
    spec = JobSpec(
        id=str(uuid.uuid4()),
        kind="read_membership",
        integration_id=None,
        attempt=1,
        max_attempts=3,
        lease_token="lease",
        lease_expires_at=ManualClock().now() + timedelta(minutes=5),
        payload=payload,
    )

    async def no_pages(*_: object) -> None:
        raise AssertionError("reads post no pages")

    result = await executor.run_one(spec, no_pages)
    assert result.outcome is Outcome.SUCCEEDED, result.error
    assert isinstance(result.data, ReadMembershipData)
    return result.data


async def test_member_reads_are_delta_rounds(state, executor):
    group_id = _group(state, "Finance Readers")
    first = await _read(executor, group_id, Permission.MEMBER)
    assert first.full
    assert {m.id for m in first.members} == set(state.tenant.members[group_id])
    assert first.delta_link is not None
    assert first.request_ids

    user_id = next(u for u in state.tenant.users if u not in state.tenant.members[group_id])
    gone = next(iter(state.tenant.members[group_id]))
    with state.tenant.lock:
        state.tenant.add_member(group_id, user_id)
        state.tenant.remove_member(group_id, gone)
    sent = executor.client.requests_sent
    later = await _read(executor, group_id, Permission.MEMBER, first.delta_link)
    assert executor.client.requests_sent - sent == 1
    assert not later.full
    assert [m.id for m in later.members] == [user_id]
    assert [(m.id, m.kind) for m in later.removed] == [(gone, "user")]
    assert later.delta_link not in {None, first.delta_link}


async def test_a_refused_member_link_gives_a_full_read(state, executor):
    group_id = _group(state, "Finance Readers")
    link = f"{EMULATOR}/v1.0/groups/delta?$deltatoken=garbled"
    data = await _read(executor, group_id, Permission.MEMBER, link)
    assert data.full
    assert {m.id for m in data.members} == set(state.tenant.members[group_id])
    assert data.delta_link is not None


async def test_owner_reads_stay_full_reads(state, executor):
    group_id = _group(state, "Production Access")
    first = await _read(executor, group_id, Permission.MEMBER)
    data = await _read(executor, group_id, Permission.OWNER, first.delta_link)
    assert data.full
    assert data.delta_link is None
    assert data.removed == []
    assert {m.id for m in data.members} == set(state.tenant.owners[group_id])
    assert {m.user_principal_name for m in data.members} == {"alex@contoso.onmicrosoft.com"}
