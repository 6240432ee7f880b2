"""The connector agent against the real server app and the Graph emulator, both in process."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from factories import make_connector
from in_process import InProcess, in_process
from jitgate.connector.agent import Agent
from jitgate.connector.client import ServerClient
from jitgate.graph.limiter import TIER_RU_PER_10S
from jitgate.protocol.v1 import (
    GrantPayload,
    JobResult,
    JobSpec,
    Outcome,
    RevokeData,
    RevokePayload,
    SelfCheckData,
    SelfCheckPayload,
    WriteOutcome,
)
from jitgate.server.connectors.models import Connector
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.jobs.operations import enqueue_job
from polling import wait_for_async

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
    from pathlib import Path

    from jitgate.connector.config import AgentConfig
    from jitgate.protocol.v1 import DiscoveredItem


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stack(committed_url: str, tmp_path: Path) -> Iterator[InProcess]:
    with in_process(committed_url, tmp_path) as made:
        yield made


class World:
    """The in-process stack and one connector, with its jobs at hand."""

    def __init__(self, stack: InProcess):
        self.stack = stack
        self.sessions = stack.sessions
        self.emulator = stack.emulator
        self.clock = stack.clock
        self.app = stack.app
        with self.sessions() as session:
            connector, self.token = make_connector(session, self.clock)
            self.connector_id = connector.id

    def config(self, **extra: Any) -> AgentConfig:
        return self.stack.agent_config(self.token, **extra)

    def enqueue(self, payload: GrantPayload | RevokePayload | SelfCheckPayload) -> str:
        with self.sessions() as session:
            job = enqueue_job(
                session=session, clock=self.clock, connector_id=self.connector_id, payload=payload
            )
            session.commit()
            return job.id

    async def add(self, payload: GrantPayload | RevokePayload | SelfCheckPayload) -> str:
        return await asyncio.to_thread(self.enqueue, payload)

    def job(self, job_id: str) -> Job:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    async def until(self, job_id: str, *statuses: JobStatus) -> Job:
        def reached() -> Job | None:
            job = self.job(job_id)
            return job if job.status in statuses else None

        return await wait_for_async(
            reached, timeout_s=15, in_thread=True, message=f"job {job_id} to reach {statuses}"
        )

    def ids(self, upn_prefix: str, group_name: str) -> tuple[str, str]:
        return self.stack.user(upn_prefix)["id"], self.stack.group(group_name)["id"]


@pytest.fixture
def world(stack: InProcess) -> World:
    return World(stack)


@pytest.fixture
async def running(world: World) -> AsyncIterator[World]:
    async with world.stack.agent(world.token):
        yield world


def _payload(kind: type[GrantPayload | RevokePayload], user: str, group: str) -> Any:
    return kind(
        principal_id=user,
        resource_type="entra-group",
        resource_external_id=group,
        permission="member",
    )


@pytest.mark.anyio
async def test_grant_then_again_then_revoke(running: World) -> None:
    world = running
    user, group = world.ids("grady", "Finance Readers")
    members = world.emulator.tenant.members[group]
    assert user not in members
    first = await world.until(
        await world.add(_payload(GrantPayload, user, group)), JobStatus.SUCCEEDED
    )
    assert user in members
    assert first.result is not None
    assert first.result["data"]["outcome"] == "applied"
    assert first.result["data"]["request_ids"]
    again = await world.until(
        await world.add(_payload(GrantPayload, user, group)), JobStatus.SUCCEEDED
    )
    assert again.result is not None
    assert again.result["data"]["outcome"] == "already_present"
    gone = await world.until(
        await world.add(_payload(RevokePayload, user, group)), JobStatus.SUCCEEDED
    )
    assert user not in members
    assert gone.result is not None
    assert gone.result["data"]["outcome"] == "applied"
    absent = await world.until(
        await world.add(_payload(RevokePayload, user, group)), JobStatus.SUCCEEDED
    )
    assert absent.result is not None
    assert absent.result["data"]["outcome"] == "already_absent"


@pytest.mark.anyio
async def test_self_check_on_start_and_on_demand(running: World) -> None:
    world = running
    job = await world.until(await world.add(SelfCheckPayload()), JobStatus.SUCCEEDED)
    assert job.result is not None
    assert job.result["data"]["kind"] == "self_check"
    with world.sessions() as session:
        connector = session.get(Connector, world.connector_id)
        assert connector is not None
        assert connector.self_check is not None
        assert "missing" in connector.self_check


class BlockingExecutor:
    """Runs nothing: every job blocks until cancelled (to exercise the graceful stop)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def run_writes(self, specs: Sequence[JobSpec]) -> list[JobResult]:
        del specs
        self.started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def run_one(
        self, spec: JobSpec, pages: Callable[[JobSpec, int, list[DiscoveredItem]], Awaitable[None]]
    ) -> JobResult:
        del pages
        return (await self.run_writes([spec]))[0]

    async def self_check(self, payload: SelfCheckPayload) -> SelfCheckData:
        del payload
        return SelfCheckData(ok=True)


@pytest.mark.anyio
async def test_graceful_stop_releases_leases(world: World) -> None:
    user, group = world.ids("grady", "Finance Readers")
    job_id = world.enqueue(_payload(GrantPayload, user, group))
    executor = BlockingExecutor()
    config = world.config(drain_timeout_s=0.0)
    async with world.stack.agent(config=config, executor=executor) as running:
        await asyncio.wait_for(executor.started.wait(), timeout=10)
        assert (await asyncio.to_thread(world.job, job_id)).status is JobStatus.LEASED
        agent = await running.stop(timeout_s=10)
    job = world.job(job_id)
    assert job.status is JobStatus.QUEUED
    assert job.lease_token is None
    assert job.attempts == 0
    assert agent.running == {}


@pytest.mark.anyio
async def test_healthz_reports_the_agent(world: World) -> None:
    config = world.config(health_port=0)
    server = ServerClient(config.url, world.token, transport=httpx.ASGITransport(app=world.app))
    agent = Agent(config, server=server, executor=BlockingExecutor())
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await wait_for_async(lambda: agent.claiming, timeout_s=10, message="the agent to claim")
        assert agent.health.port is not None
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{agent.health.port}/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["instance_key"] == config.instance_key
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await server.aclose()


class RecordingExecutor(BlockingExecutor):
    """Answers every write at once and records how many jobs each ``$batch`` run held."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    async def run_writes(self, specs: Sequence[JobSpec]) -> list[JobResult]:
        self.batches.append(len(specs))
        data = RevokeData(outcome=WriteOutcome.APPLIED, request_ids=["graph-req"])
        return [JobResult(outcome=Outcome.SUCCEEDED, data=data) for _ in specs]


@pytest.mark.anyio
async def test_one_free_task_claims_a_whole_batch_of_writes(world: World) -> None:
    tenant = world.emulator.tenant
    pairs = [(user, group) for group in list(tenant.groups)[:2] for user in tenant.users][:20]
    assert len(pairs) == 20
    job_ids = [world.enqueue(_payload(RevokePayload, user, group)) for user, group in pairs]
    executor = RecordingExecutor()
    config = world.config(concurrency=1, claim_batch=20, report_concurrency=2)
    async with world.stack.agent(config=config, executor=executor) as running:
        for job_id in job_ids:
            await world.until(job_id, JobStatus.SUCCEEDED)
        await running.stop(timeout_s=10)
    assert executor.batches == [20], "20 revocations went to Graph as one $batch run"


def test_the_limiter_gets_the_configured_write_budget(world: World) -> None:
    budget = world.config(write_budget=600, write_window_s=30).graph_budget()
    assert (budget.write_capacity, budget.write_window_s) == (600, 30)
    assert budget.ru_capacity == TIER_RU_PER_10S["L"]


class RecordingTransport(httpx.AsyncBaseTransport):
    """The server transport, recording each path called; ``missing`` paths answer 404."""

    def __init__(self, app: Any, missing: frozenset[str] = frozenset()) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.missing = missing
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/connector/v1")
        self.paths.append(path)
        if path in self.missing:
            return httpx.Response(404, json={"status": 404, "detail": "Not Found"})
        return await self.inner.handle_async_request(request)

    def reports(self) -> tuple[int, int]:
        """How many batched and how many single result reports were sent."""
        batched = sum(path == "/jobs:report" for path in self.paths)
        single = sum(path.endswith("/result") for path in self.paths)
        return batched, single


async def _revoke_twenty(world: World, transport: RecordingTransport, executor: Any) -> list[str]:
    tenant = world.emulator.tenant
    pairs = [(user, group) for group in list(tenant.groups)[:2] for user in tenant.users][:20]
    job_ids = [world.enqueue(_payload(RevokePayload, user, group)) for user, group in pairs]
    config = world.config(concurrency=1, claim_batch=20)
    async with world.stack.agent(
        config=config, executor=executor, server_transport=transport
    ) as running:
        await asyncio.wait_for(executor.reported.wait(), timeout=10)
        for job_id in job_ids:
            if job_id != getattr(executor, "stolen", None):
                await world.until(job_id, JobStatus.SUCCEEDED)
        await running.stop(timeout_s=10)
    return job_ids


class AnsweringExecutor(RecordingExecutor):
    """Answers every write at once; optionally lets another instance take one lease first."""

    def __init__(self, world: World, *, steal_first: bool = False) -> None:
        super().__init__()
        self.world = world
        self.steal_first = steal_first
        self.stolen: str | None = None
        self.reported = asyncio.Event()

    async def run_writes(self, specs: Sequence[JobSpec]) -> list[JobResult]:
        if self.steal_first:
            self.stolen = specs[0].id  # the first claimed, whichever job that is
            await asyncio.to_thread(self._steal, self.stolen)
        results = await super().run_writes(specs)
        self.reported.set()
        return results

    def _steal(self, job_id: str) -> None:
        with self.world.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            job.lease_token, job.lease_owner = "another-lease", "another-instance"
            session.commit()


@pytest.mark.anyio
async def test_a_batch_run_reports_its_results_in_one_call(world: World) -> None:
    transport = RecordingTransport(world.app)
    job_ids = await _revoke_twenty(world, transport, AnsweringExecutor(world))
    for job_id in job_ids:
        assert (await asyncio.to_thread(world.job, job_id)).status is JobStatus.SUCCEEDED
    assert transport.reports() == (1, 0), "20 results, one call"


@pytest.mark.anyio
async def test_a_lost_lease_in_a_batch_drops_that_result_only(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    transport = RecordingTransport(world.app)
    with caplog.at_level("WARNING", logger="jitgate.connector.agent"):
        executor = AnsweringExecutor(world, steal_first=True)
        job_ids = await _revoke_twenty(world, transport, executor)
    assert executor.stolen in job_ids
    stolen = world.job(executor.stolen)
    assert (stolen.status, stolen.lease_owner) == (JobStatus.LEASED, "another-instance")
    assert transport.reports() == (1, 0)
    dropped = [r for r in caplog.records if r.getMessage() == "lease lost; result dropped"]
    assert [getattr(r, "job_id", None) for r in dropped] == [executor.stolen]


@pytest.mark.anyio
async def test_an_older_server_gets_the_results_one_by_one(world: World) -> None:
    transport = RecordingTransport(world.app, missing=frozenset({"/jobs:report"}))
    job_ids = await _revoke_twenty(world, transport, AnsweringExecutor(world))
    assert (await asyncio.to_thread(world.job, job_ids[0])).status is JobStatus.SUCCEEDED
    assert transport.reports() == (1, 20), "one refused batch, then each result on its own"
