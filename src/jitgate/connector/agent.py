"""The connector agent: register, self-check, claim (long-poll), run, report, heartbeat, stop.

* Concurrency is bounded by ``concurrency`` running tasks, and a claim asks for up to
  ``claim_batch`` jobs while a task is free: direct grants and revocations claimed together go
  to Graph as one ``$batch`` run (revocations first) in one task; other jobs run one per task
  (so a claim of only such jobs may briefly run up to ``claim_batch - 1`` tasks more).
* Results are reported with retries while the server is briefly unreachable, at most
  ``report_concurrency`` calls at once; a lost lease (409, or ``lease_lost`` in a batched ack)
  means another instance owns the job, so the result is dropped. A ``$batch`` run's results go
  up in one call (``POST /jobs:report``, one server transaction); other jobs (discovery, reads,
  self-checks) report one by one. A server without the batched route (404) is reported to one
  result at a time from then on.
* Heartbeats extend the leases of running jobs; a lease the server says is lost is abandoned.
* Stop (SIGTERM/SIGINT, or ``stop_event``): stop claiming, let running jobs finish for
  ``drain_timeout_s``, then cancel the rest and release their leases so another instance picks
  them up at once. Jobs are idempotent, so a job interrupted mid-write is safe to run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

import jitgate
from jitgate.connector.client import LeaseLostError, ServerClient, ServerRefusedError
from jitgate.connector.executor import Executor, GraphExecutor, is_direct_write
from jitgate.connector.health import HealthServer
from jitgate.connector.metrics import metrics_text
from jitgate.core.clock import Clock, SystemClock
from jitgate.graph.client import GraphClient
from jitgate.protocol.v1 import (
    MAX_REPORT_ITEMS,
    ClaimRequest,
    ConnectorSelfCheck,
    Heartbeat,
    ItemsPage,
    JobResult,
    JobSpec,
    LeaseRef,
    Registered,
    RegisterInstance,
    ReleaseRequest,
    ReportResult,
    ReportResults,
    ResultItem,
    SelfCheckPayload,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jitgate.connector.config import AgentConfig
    from jitgate.graph.limiter import AdaptiveLimiter
    from jitgate.protocol.v1 import DiscoveredItem

log = logging.getLogger(__name__)
UNAUTHORIZED = 401
#: What a server older than the batched report route answers to it.
NO_ROUTE = frozenset({404, 405})


@dataclass(slots=True)
class _Running:
    spec: JobSpec
    task: asyncio.Task[None]


class Agent:
    """One connector instance."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        server: ServerClient,
        executor: Executor,
        graph: GraphClient | None = None,
    ) -> None:
        self.config = config
        self.server = server
        self.executor = executor
        #: The tenant's Graph client: its limiter's learnt budget is reported (``/metrics``).
        self.graph = graph
        self.running: dict[str, _Running] = {}
        self.registered: Registered | None = None
        self.claiming = False
        self.completed = 0
        self.health = HealthServer(self._health, lambda: metrics_text(self._limiters))
        self._slot_freed = asyncio.Event()
        #: Reports in flight at once: a burst of 160 results must not pile onto the server's
        #: database lock at once (each report is a short write transaction).
        self._reporting = asyncio.Semaphore(config.report_concurrency)
        #: Off once the server turned out not to know ``POST /jobs:report``.
        self._batch_reports = True

    def _limiters(self) -> list[tuple[str, AdaptiveLimiter]]:
        if self.graph is None:
            return []
        return [(self.config.tenant_id or "", self.graph.limiter)]

    def _health(self) -> tuple[bool, dict[str, object]]:
        healthy = self.registered is not None and self.claiming
        body: dict[str, object] = {
            "status": "ok" if healthy else "starting",
            "instance_key": self.config.instance_key,
            "running": len(self.running),
            "completed": self.completed,
        }
        if self.graph is not None:
            body["graph_write_rate_learnt"] = round(self.graph.limiter.write_rate, 3)
        return healthy, body

    async def run(self, stop_event: asyncio.Event) -> None:
        """Run until ``stop_event`` is set; then drain or release."""
        if self.config.health_port is not None:
            await self.health.start(self.config.health_host, self.config.health_port)
        heartbeat: asyncio.Task[None] | None = None
        try:
            self.registered = await self.server.register(
                RegisterInstance(
                    instance_key=self.config.instance_key,
                    version=jitgate.__version__,
                    metadata=self._metadata(),
                )
            )
            await self._self_check_on_start()
            heartbeat = asyncio.create_task(self._heartbeats(stop_event))
            await self._claim_loop(stop_event)
        finally:
            self.claiming = False
            await self._drain()
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
            await self.health.stop()

    def _metadata(self) -> dict[str, object]:
        try:
            return self.config.instance_metadata()
        except ValueError:
            return dict(self.config.metadata)

    async def _self_check_on_start(self) -> None:
        try:
            data = await self.executor.self_check(SelfCheckPayload())
            await self.server.self_check(
                ConnectorSelfCheck(instance_key=self.config.instance_key, result=data)
            )
        except Exception:
            log.exception("self-check on start failed")

    async def _claim_loop(self, stop_event: asyncio.Event) -> None:
        stop = asyncio.create_task(stop_event.wait())
        failures = 0
        try:
            while not stop_event.is_set():
                if self._busy() >= self.config.concurrency:
                    await self._wait_for_slot(stop)
                    continue
                self.claiming = True
                request = ClaimRequest(
                    instance_key=self.config.instance_key,
                    max_jobs=self.config.claim_batch,
                    wait_s=self.config.claim_wait_s,
                )
                claim = asyncio.create_task(self.server.claim(request))
                await asyncio.wait({claim, stop}, return_when=asyncio.FIRST_COMPLETED)
                if not claim.done():
                    claim.cancel()  # leases granted to a cancelled claim expire and are reclaimed
                    with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                        await claim
                    return
                failures = await self._after_claim(claim, failures, stop)
        finally:
            stop.cancel()

    async def _after_claim(
        self, claim: asyncio.Task[object], failures: int, stop: asyncio.Task[bool]
    ) -> int:
        try:
            response = claim.result()
        except ServerRefusedError as err:
            if err.status == UNAUTHORIZED:
                raise
            log.warning("claim refused", extra={"error": str(err)})
        except (httpx.HTTPError, ValueError) as err:
            log.warning("claim failed; the server may be away", extra={"error": repr(err)})
        else:
            jobs = getattr(response, "jobs", [])
            self._start(jobs)
            return 0
        failures += 1
        await asyncio.wait({stop}, timeout=min(30.0, 0.5 * 2**failures))
        return failures

    def _busy(self) -> int:
        """Running tasks: one per ``$batch`` run of writes, one per other job."""
        return len({id(r.task) for r in self.running.values()})

    async def _wait_for_slot(self, stop: asyncio.Task[bool]) -> None:
        self._slot_freed.clear()
        freed = asyncio.create_task(self._slot_freed.wait())
        await asyncio.wait({freed, stop}, return_when=asyncio.FIRST_COMPLETED)
        freed.cancel()

    def _start(self, specs: Sequence[JobSpec]) -> None:
        writes = [s for s in specs if is_direct_write(s)]
        others = [s for s in specs if not is_direct_write(s)]
        if writes:
            task = asyncio.create_task(self._run_writes(writes))
            for spec in writes:
                self.running[spec.id] = _Running(spec, task)
        for spec in others:
            self.running[spec.id] = _Running(spec, asyncio.create_task(self._run_one(spec)))

    async def _run_writes(self, specs: list[JobSpec]) -> None:
        try:
            results = await self.executor.run_writes(specs)
            done = list(zip(specs, results, strict=True))
            for start in range(0, len(done), MAX_REPORT_ITEMS):
                await self._report_batch(done[start : start + MAX_REPORT_ITEMS])
        finally:
            for spec in specs:
                self._done(spec)

    async def _run_one(self, spec: JobSpec) -> None:
        try:
            result = await self.executor.run_one(spec, self._post_page)
            await self._report(spec, result)
        finally:
            self._done(spec)

    def _done(self, spec: JobSpec) -> None:
        if self.running.pop(spec.id, None) is not None:
            self.completed += 1
        self._slot_freed.set()

    async def _post_page(self, spec: JobSpec, page: int, items: list[DiscoveredItem]) -> None:
        body = ItemsPage(
            instance_key=self.config.instance_key,
            lease_token=spec.lease_token,
            page=page,
            items=items,
        )
        await self.server.post_page(spec.id, body)

    async def _report(self, spec: JobSpec, result: JobResult) -> None:
        body = ReportResult(
            instance_key=self.config.instance_key, lease_token=spec.lease_token, result=result
        )
        try:
            async with self._reporting:
                await self.server.report(spec.id, body)
        except LeaseLostError:
            log.warning("lease lost; result dropped", extra={"job_id": spec.id})
        except (ServerRefusedError, httpx.HTTPError) as err:
            # The lease will expire and the job run again; writes are idempotent.
            log.warning("could not report a result", extra={"job_id": spec.id, "error": repr(err)})

    async def _report_batch(self, done: list[tuple[JobSpec, JobResult]]) -> None:
        """Report up to ``MAX_REPORT_ITEMS`` results in one call (one by one to an older server)."""
        if not self._batch_reports:
            await asyncio.gather(*(self._report(spec, result) for spec, result in done))
            return
        body = ReportResults(
            instance_key=self.config.instance_key,
            items=[
                ResultItem(job_id=spec.id, lease_token=spec.lease_token, result=result)
                for spec, result in done
            ],
        )
        job_ids = [spec.id for spec, _ in done]
        try:
            async with self._reporting:
                ack = await self.server.report_many(body)
        except ServerRefusedError as err:
            if err.status not in NO_ROUTE:
                log.warning(
                    "could not report results", extra={"job_ids": job_ids, "error": repr(err)}
                )
                return
            log.warning("the server has no batched report route; reporting one by one")
            self._batch_reports = False
            await asyncio.gather(*(self._report(spec, result) for spec, result in done))
            return
        except httpx.HTTPError as err:
            # The leases will expire and the jobs run again; writes are idempotent.
            log.warning("could not report results", extra={"job_ids": job_ids, "error": repr(err)})
            return
        for item in ack.items:
            if item.lease_lost:
                log.warning("lease lost; result dropped", extra={"job_id": item.job_id})
            elif item.problem is not None:
                log.warning(
                    "could not report a result",
                    extra={"job_id": item.job_id, "error": item.problem.detail},
                )

    async def _heartbeats(self, stop_event: asyncio.Event) -> None:
        interval = self.registered.heartbeat_interval_s if self.registered else 15.0
        while not stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=interval)
            await self.heartbeat()

    async def heartbeat(self) -> None:
        """Tell the server we are alive; abandon jobs whose lease was lost."""
        leases = [
            LeaseRef(job_id=r.spec.id, lease_token=r.spec.lease_token)
            for r in self.running.values()
        ]
        try:
            ack = await self.server.heartbeat(
                Heartbeat(instance_key=self.config.instance_key, leases=leases)
            )
        except (ServerRefusedError, httpx.HTTPError) as err:
            log.warning("heartbeat failed", extra={"error": repr(err)})
            return
        for job_id in ack.lost:
            running = self.running.get(job_id)
            if running is not None and not is_direct_write(running.spec):
                running.task.cancel()

    async def _drain(self) -> None:
        tasks = {r.task for r in self.running.values()}
        if tasks:
            await asyncio.wait(tasks, timeout=self.config.drain_timeout_s)
        left = list(self.running.values())
        for running in left:
            running.task.cancel()
        for task in {r.task for r in left}:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.gather(*(self._release(r.spec) for r in left))

    async def _release(self, spec: JobSpec) -> None:
        body = ReleaseRequest(instance_key=self.config.instance_key, lease_token=spec.lease_token)
        try:
            await self.server.release(spec.id, body)
        except (ServerRefusedError, httpx.HTTPError) as err:
            log.warning("could not release a lease", extra={"job_id": spec.id, "error": repr(err)})


async def run_agent(
    config: AgentConfig,
    *,
    stop_event: asyncio.Event,
    server_transport: httpx.AsyncBaseTransport | None = None,
    graph_transport: httpx.AsyncBaseTransport | None = None,
    graph: GraphClient | None = None,
    executor: Executor | None = None,
    clock: Clock | None = None,
) -> Agent:
    """Run one connector instance until ``stop_event`` is set (in process for ``jitgate up``)."""
    server = ServerClient(
        config.url,
        config.token.get_secret_value(),
        transport=server_transport,
        ca_bundle=config.server_ca_bundle,
        retry_deadline_s=config.report_deadline_s,
    )
    own_graph = graph is None and executor is None
    if executor is None:
        if graph is None:
            graph = GraphClient.from_config(
                config.graph_config(), transport=graph_transport, budget=config.graph_budget()
            )
        executor = GraphExecutor(graph, clock or SystemClock(), tenant_id=config.tenant_id)
    agent = Agent(config, server=server, executor=executor, graph=graph)
    try:
        await agent.run(stop_event)
    finally:
        await server.aclose()
        if own_graph and graph is not None:
            await graph.aclose()
    return agent
