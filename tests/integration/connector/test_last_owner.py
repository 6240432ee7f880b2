"""Revoking a group's last owner: Graph refuses (400 Request_BadRequest), and the connector
reports a permanent failure named ``GroupLastOwner``: not retried, not taken for removed."""

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
    ResourceType,
    RevokeData,
    RevokePayload,
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


def _revoke_owner(group_id: str, principal_id: str) -> JobSpec:
    return JobSpec(
        id=str(uuid.uuid4()),
        kind="revoke",
        integration_id=None,
        attempt=1,
        max_attempts=3,
        lease_token="lease",
        lease_expires_at=ManualClock().now() + timedelta(minutes=5),
        payload=RevokePayload(
            resource_type=ResourceType.GROUP,
            resource_external_id=group_id,
            permission=Permission.OWNER,
            principal_id=principal_id,
            grant_ids=["g1"],
        ),
    )


def _group(state: EmulatorState, name: str) -> str:
    return next(g["id"] for g in state.tenant.groups.values() if g["displayName"] == name)


async def test_revoking_the_last_owner_is_a_permanent_named_failure(state, executor):
    group_id = _group(state, "Engineering")
    (owner,) = state.tenant.owners[group_id]
    sent = executor.client.requests_sent
    (result,) = await executor.run_writes([_revoke_owner(group_id, owner)])
    assert result.outcome is Outcome.FAILED
    assert result.error is not None
    assert result.error.code == "GroupLastOwner"
    assert not result.error.retryable
    assert "at least one owner" in result.error.message
    assert result.error.request_ids
    assert not isinstance(result.data, RevokeData)  # never reported as removed
    assert owner in state.tenant.owners[group_id]
    # one read of the group and its owners, and one $batch: the refusal is not retried
    assert executor.client.requests_sent - sent <= 3


async def test_an_owner_with_another_beside_it_is_revoked(state, executor):
    group_id = _group(state, "Engineering")
    (owner,) = state.tenant.owners[group_id]
    other = next(u for u in state.tenant.users if u != owner)
    with state.tenant.lock:
        state.tenant.add_member(group_id, other, owners=True)
    (result,) = await executor.run_writes([_revoke_owner(group_id, owner)])
    assert result.outcome is Outcome.SUCCEEDED
    assert owner not in state.tenant.owners[group_id]
