"""Creating and refreshing an integration queue discovery the one way the reconciler does.

The job wakes a connector's claim already waiting on the notifier (its poll interval is set
longer than the wait, so only the wake-up can answer it), carries a protocol payload, and is
recorded as the integration's discovery job (``IntegrationSync.job_id``). The app commits for
real, so each test has a database of its own on each backend.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest

from factories import bearer, make_connector, make_identity, make_integration
from in_process import InProcess, in_process
from jitgate.protocol.v1 import ReadMembershipPayload
from jitgate.server.actor import UserRole
from jitgate.server.integrations.models import Integration, IntegrationStatus
from jitgate.server.integrations.sync_models import IntegrationSync
from jitgate.server.jobs.models import Job, JobKind, JobPriority, JobStatus
from jitgate.server.jobs.operations import enqueue_job
from polling import wait_for_async

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

V1 = "/api/connector/v1"
FIRST_RUN = {
    "kind": "discover",
    "mode": "full",
    "resource_types": ["entra-group", "entra-role"],
    "users_delta_link": None,
    "groups_delta_link": None,
    "tag_attributes": [],
    "page_size": 1000,
    "member_groups": [],
}


class World:
    """A server app on its own database, an admin, and one connector."""

    def __init__(self, stack: InProcess) -> None:
        self.sessions = stack.sessions
        self.clock = stack.clock
        self.app = stack.app
        with self.sessions() as s:
            admin = make_identity(s, self.clock, "admin@contoso.example", role=UserRole.ADMIN)
            self.admin = bearer(s, self.clock, admin)
            self.connector_row, token = make_connector(s, self.clock)
            self.connector_id = self.connector_row.id
        self.connector = {"Authorization": f"Bearer {token}"}

    def claim(self, client: httpx.AsyncClient, wait_s: float) -> asyncio.Task[httpx.Response]:
        body = {"instance_key": "vm-1", "wait_s": wait_s}
        return asyncio.create_task(
            client.post(f"{V1}/jobs:claim", json=body, headers=self.connector, timeout=60)
        )

    async def waiting(self, claim: asyncio.Task[httpx.Response]) -> None:
        """Return once the claim waits on the notifier (it has looked and found nothing)."""
        waiters = self.app.state.jobs.notifier._waiters

        def waits() -> object:
            assert not claim.done(), claim.result().text
            return waiters.get(self.connector_id)

        await wait_for_async(waits, timeout_s=10, interval_s=0.01, message="the claim to wait")

    def sync_job_id(self, integration_id: str) -> str | None:
        with self.sessions() as s:
            state = s.get(IntegrationSync, integration_id)
            return None if state is None else state.job_id


@pytest.fixture
def world(committed_url, tmp_path) -> Iterator[World]:
    # only the wake-up can end a wait early
    with in_process(committed_url, tmp_path, poll_interval_s=30.0) as stack:
        yield World(stack)


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server") as http:
        yield http


@pytest.mark.anyio
async def test_creating_an_integration_wakes_the_waiting_claim_with_its_discovery(
    world: World, client: httpx.AsyncClient
) -> None:
    claim = world.claim(client, wait_s=25)
    await world.waiting(claim)
    body = {"type": "entra-id", "name": "Contoso Entra", "connector_id": world.connector_id}
    created = await client.post("/api/v1/integrations", json=body, headers=world.admin)
    assert created.status_code == 201, created.text
    response = await asyncio.wait_for(claim, timeout=10)
    (spec,) = response.json()["jobs"]
    assert (spec["kind"], spec["integration_id"]) == ("discover", created.json()["id"])
    assert spec["payload"] == FIRST_RUN
    assert world.sync_job_id(created.json()["id"]) == spec["id"]


@pytest.mark.anyio
async def test_refreshing_an_integration_wakes_the_waiting_claim_with_a_full_run(
    world: World, client: httpx.AsyncClient
) -> None:
    with world.sessions() as s:
        integration = make_integration(s, world.clock, connector=world.connector_row)
        integration_id = integration.id
    # The first discovery is claimed and fails, so no discovery is open when refresh comes.
    (first,) = (await world.claim(client, wait_s=0)).json()["jobs"]
    failed = {"outcome": "failed", "error": {"code": "Denied", "message": "no access"}}
    report = {"instance_key": "vm-1", "lease_token": first["lease_token"], "result": failed}
    reported = await client.post(
        f"{V1}/jobs/{first['id']}/result", json=report, headers=world.connector
    )
    assert reported.status_code == 200, reported.text
    assert world.sync_job_id(integration_id) is None
    claim = world.claim(client, wait_s=25)
    await world.waiting(claim)
    refreshed = await client.post(
        f"/api/v1/integrations/{integration_id}/refresh", headers=world.admin
    )
    assert refreshed.status_code == 202, refreshed.text
    response = await asyncio.wait_for(claim, timeout=10)
    (spec,) = response.json()["jobs"]
    assert spec["id"] == refreshed.json()["job_id"]
    assert spec["payload"] == FIRST_RUN
    assert world.sync_job_id(integration_id) == spec["id"]


def _legacy_discovery(world: World, integration_id: str) -> str:
    """A queued discover job in the form the server wrote before every enqueue was typed."""
    with world.sessions() as s:
        now = world.clock.now()
        job = Job(
            connector_id=world.connector_id,
            integration_id=integration_id,
            kind=JobKind.DISCOVER,
            priority=int(JobPriority.DISCOVER),
            payload={
                "integration_id": integration_id,
                "type": "entra-id",
                "resource_types": ["entra-group", "entra-role"],
                "member_groups": [],
            },
            status=JobStatus.QUEUED,
            run_after=now,
            created_at=now,
            updated_at=now,
        )
        s.add(job)
        s.commit()
        return job.id


@pytest.mark.anyio
async def test_an_untyped_discovery_is_dead_lettered_at_its_claim_and_the_others_are_served(
    world: World, client: httpx.AsyncClient
) -> None:
    with world.sessions() as s:
        integration = make_integration(s, world.clock, connector=world.connector_row)
        integration_id = integration.id
        s.get(Job, world.sync_job_id(integration_id)).status = JobStatus.SUCCEEDED
        s.commit()
    legacy = _legacy_discovery(world, integration_id)
    with world.sessions() as s:
        read = ReadMembershipPayload(resource_type="entra-group", resource_external_id="g-1")
        other = enqueue_job(
            session=s, clock=world.clock, connector_id=world.connector_id, payload=read
        ).id
        s.commit()
    response = await world.claim(client, wait_s=0)
    assert response.status_code == 200, response.text
    assert [j["id"] for j in response.json()["jobs"]] == [other]
    with world.sessions() as s:
        dead = s.get(Job, legacy)
        assert dead.status is JobStatus.DEAD
        assert "extra_forbidden" in dead.last_error
        shown = s.get(Integration, integration_id)
        assert shown.status is IntegrationStatus.ERROR
        assert shown.status_message.startswith("discovery failed: the job's payload is not valid")
    refreshed = await client.post(
        f"/api/v1/integrations/{integration_id}/refresh", headers=world.admin
    )
    assert refreshed.status_code == 202, refreshed.text
    (spec,) = (await world.claim(client, wait_s=0)).json()["jobs"]
    assert (spec["id"], spec["payload"]) == (refreshed.json()["job_id"], FIRST_RUN)
