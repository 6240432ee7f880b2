"""The connector endpoints, ``/api/connector/v1`` (protocol ``jitgate.protocol.v1``).

Thin routes: authenticate the connector token, call one operation, return a protocol message.
The claim long-poll never holds a transaction while it waits: each look is a short transaction
of its own, and between looks it sleeps until a local commit wakes it or the poll interval ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Response, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from jitgate.protocol.v1 import (
    PREFIX,
    ClaimRequest,
    ClaimResponse,
    ConnectorSelfCheck,
    Heartbeat,
    HeartbeatAck,
    ItemProblem,
    ItemsPage,
    JobSpec,
    PageAck,
    Registered,
    RegisterInstance,
    ReleaseRequest,
    ReportAck,
    ReportResult,
    ReportResults,
    ReportResultsAck,
    ResultItemAck,
)
from jitgate.server.connectors.protocol import instances
from jitgate.server.connectors.protocol.deps import ConnectorDep, ConnectorPrincipal, RuntimeDep
from jitgate.server.connectors.protocol.runtime import JobsRuntime
from jitgate.server.connectors.protocol.selfcheck import record_self_check, self_check_dict
from jitgate.server.jobs import operations, results
from jitgate.server.jobs.service import job_spec
from jitgate.server.web.admission import pause
from jitgate.server.web.deps import ClockDep, SessionDep, app_state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock
    from jitgate.server.jobs.models import Job

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["connector protocol"])


@router.post("/instances", summary="Register a connector instance")
def register(
    session: SessionDep,
    clock: ClockDep,
    connector: ConnectorDep,
    runtime: RuntimeDep,
    body: RegisterInstance,
) -> Registered:
    """Create or refresh this instance's record (version, metadata, last seen)."""
    instances.register_instance(
        session=session,
        clock=clock,
        actor=connector.actor,
        connector_id=connector.connector_id,
        instance_key=body.instance_key,
        version=body.version,
        metadata=body.metadata,
    )
    return Registered(
        connector_id=connector.connector_id,
        connector_name=connector.name,
        instance_key=body.instance_key,
        heartbeat_interval_s=runtime.heartbeat_interval.total_seconds(),
        lease_s=runtime.lease.total_seconds(),
    )


def _touch(
    session: Session, clock: Clock, connector: ConnectorPrincipal, instance_key: str
) -> None:
    """Record that the instance is alive: every claim, report and heartbeat counts."""
    instances.touch_instance(
        session=session, clock=clock, connector_id=connector.connector_id, instance_key=instance_key
    )


def _specs(session: Session, clock: Clock, runtime: JobsRuntime, jobs: list[Job]) -> list[JobSpec]:
    specs = []
    for job in jobs:
        try:
            types = runtime.integrations.resource_types(
                session=session, integration_id=job.integration_id
            )
            specs.append(job_spec(job=job, resource_types=types))
        except ValidationError as err:
            reason = f"the job's payload is not valid: {err.errors()[:3]}"
            results.dead_letter(
                session=session, clock=clock, handlers=runtime.handlers, job=job, reason=reason
            )
    return specs


def _claim_once(
    sessions: sessionmaker[Session],
    clock: Clock,
    runtime: JobsRuntime,
    connector: ConnectorPrincipal,
    body: ClaimRequest,
) -> list[JobSpec]:
    with sessions() as session:
        try:
            _touch(session, clock, connector, body.instance_key)
            jobs = operations.claim_jobs(
                session=session,
                clock=clock,
                handlers=runtime.handlers,
                connector_id=connector.connector_id,
                instance_key=body.instance_key,
                max_jobs=body.max_jobs,
                lease=runtime.lease,
            )
            specs = _specs(session, clock, runtime, jobs)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return specs


@router.post("/jobs:claim", summary="Claim jobs (long-poll)")
async def claim(
    request: Request, connector: ConnectorDep, runtime: RuntimeDep, body: ClaimRequest
) -> ClaimResponse:
    """Lease up to ``max_jobs`` jobs; wait up to ``wait_s`` (≤ 25 s) for the first to appear."""
    state = app_state(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_s
    while True:
        seen = runtime.notifier.generation(connector.connector_id)  # before the look: no lost wake
        specs = await run_in_threadpool(
            _claim_once, state.sessions, state.clock, runtime, connector, body
        )
        remaining = deadline - loop.time()
        if specs or remaining <= 0:
            return ClaimResponse(jobs=specs)
        async with pause(request):  # sleeping holds no lane
            await runtime.notifier.wait(
                connector.connector_id, min(runtime.poll_interval_s, remaining), since=seen
            )


@router.post("/jobs/{job_id}/result", summary="Report a job's result")
def report(
    *,
    session: SessionDep,
    clock: ClockDep,
    connector: ConnectorDep,
    runtime: RuntimeDep,
    job_id: str,
    body: ReportResult,
) -> ReportAck:
    """Apply the result (idempotent per lease; 409 when the lease was lost)."""
    _touch(session, clock, connector, body.instance_key)
    job, duplicate = results.report_job_result(
        session=session,
        clock=clock,
        actor=connector.actor,
        handlers=runtime.handlers,
        connector_id=connector.connector_id,
        instance_key=body.instance_key,
        job_id=job_id,
        lease_token=body.lease_token,
        result=body.result,
        backoff=runtime.backoff,
    )
    return ReportAck(job_id=job.id, status=str(job.status), duplicate=duplicate)


@router.post("/jobs:report", summary="Report several jobs' results at once")
def report_many(
    *,
    session: SessionDep,
    clock: ClockDep,
    connector: ConnectorDep,
    runtime: RuntimeDep,
    body: ReportResults,
) -> ReportResultsAck:
    """Apply up to 100 results (a `$batch` run's) in one transaction, each item on its own.

    Idempotent per lease like the single report (`duplicate`); an item whose lease was lost is
    refused with `lease_lost` and a 409 problem in its ack, and the other items still apply.
    """
    _touch(session, clock, connector, body.instance_key)
    outcomes = results.report_job_results(
        session=session,
        clock=clock,
        actor=connector.actor,
        handlers=runtime.handlers,
        connector_id=connector.connector_id,
        instance_key=body.instance_key,
        items=body.items,
        backoff=runtime.backoff,
    )
    return ReportResultsAck(items=[_item_ack(outcome) for outcome in outcomes])


def _item_ack(outcome: results.ItemOutcome) -> ResultItemAck:
    error = outcome.error
    problem = None
    if error is not None:
        fields = error.problem()
        problem = ItemProblem(
            type=fields["type"], title=fields["title"], status=error.status, detail=error.detail
        )
    return ResultItemAck(
        job_id=outcome.job_id,
        status=None if outcome.status is None else str(outcome.status),
        duplicate=outcome.duplicate,
        lease_lost=outcome.lease_lost,
        problem=problem,
    )


@router.post("/jobs/{job_id}/items", summary="Post a page of discovered items")
def post_items(
    session: SessionDep, clock: ClockDep, connector: ConnectorDep, job_id: str, body: ItemsPage
) -> PageAck:
    """Store one page for the leased job (re-posting a page is a no-op)."""
    stored = results.store_job_page(
        session=session,
        clock=clock,
        connector_id=connector.connector_id,
        instance_key=body.instance_key,
        job_id=job_id,
        lease_token=body.lease_token,
        page=body.page,
        items=list(body.items),
    )
    return PageAck(job_id=job_id, page=body.page, stored=stored)


@router.post("/jobs/{job_id}/release", summary="Give a lease back unfinished")
def release(
    session: SessionDep, clock: ClockDep, connector: ConnectorDep, job_id: str, body: ReleaseRequest
) -> ReportAck:
    """Queue the job again without counting the attempt (graceful stop)."""
    job = operations.release_job(
        session=session,
        clock=clock,
        connector_id=connector.connector_id,
        instance_key=body.instance_key,
        job_id=job_id,
        lease_token=body.lease_token,
    )
    return ReportAck(job_id=job.id, status=str(job.status))


@router.post("/heartbeat", summary="Heartbeat; extends the named leases")
def heartbeat(
    session: SessionDep,
    clock: ClockDep,
    connector: ConnectorDep,
    runtime: RuntimeDep,
    body: Heartbeat,
) -> HeartbeatAck:
    """Record that the instance is alive and extend the leases it still holds."""
    _touch(session, clock, connector, body.instance_key)
    extended, lost = operations.extend_leases(
        session=session,
        clock=clock,
        connector_id=connector.connector_id,
        instance_key=body.instance_key,
        leases=[(lease.job_id, lease.lease_token) for lease in body.leases],
        lease=runtime.lease,
    )
    return HeartbeatAck(extended=extended, lost=lost, lease_expires_at=clock.now() + runtime.lease)


@router.post(
    "/self-check",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Store a self-check run outside a job",
)
def post_self_check(
    session: SessionDep,
    clock: ClockDep,
    connector: ConnectorDep,
    runtime: RuntimeDep,
    body: ConnectorSelfCheck,
) -> Response:
    """Store the self-check the agent ran on start on the connector's record."""
    record_self_check(
        session=session,
        clock=clock,
        actor=connector.actor,
        connector_id=connector.connector_id,
        check=self_check_dict(body.result),
    )
    # The start check knows no integration settings: check the guest permissions as a job.
    runtime.after_start_check(session, clock, connector.connector_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def install_connector_api(
    app: FastAPI, sessions: sessionmaker[Session], runtime: JobsRuntime
) -> JobsRuntime:
    """Mount the connector endpoints and wire commits to long-poll wake-ups."""
    runtime.notifier.attach(sessions)
    app.state.jobs = runtime
    app.include_router(router)
    return runtime
