"""Shared arrangements for the grant-engine tests: approved requests, ticks, a stand-in connector.

``Directory`` stands in for Entra on the far side of the connector: it answers grant, revoke and
read-membership jobs the way the connector agent reports them (idempotent writes, Graph request
ids). The tests of the real agent against the emulator live in ``tests/e2e``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from factories import actor_for, make_flow, make_request
from jitgate.protocol.v1 import (
    GrantData,
    GrantPayload,
    JobResult,
    MemberRef,
    Outcome,
    ReadMembershipData,
    ReadMembershipPayload,
    RevokeData,
    RevokePayload,
    WriteOutcome,
)
from jitgate.server.actor import Actor, Source
from jitgate.server.audit.models import AuditEvent
from jitgate.server.handlers import default_registry
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import claim_jobs
from jitgate.server.jobs.results import report_job_result
from jitgate.server.jobs.service import parse_payload
from jitgate.server.reconciler.tick import ReconcilerConfig, run_tick
from jitgate.server.requests.operations import approve_request
from request_world import MANAGER_POLICY, make_world

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.server.requests.models import AccessRequest
    from request_world import World

CONNECTOR = Actor(identity_id=None, name="connector", role=None, source=Source.CONNECTOR)
QUIET = ReconcilerConfig(periodic=False, pim_grace=timedelta(minutes=5))


def engine_world(
    session: Session,
    clock,
    *,
    flow_settings: dict[str, object] | None = None,
    **integration_settings,
) -> World:
    """The request world, with Entra object ids on everyone and an access flow."""
    w = make_world(session, clock)
    for person in (w.admin, w.boss, w.alice, w.bob, w.carol):
        person.object_id = f"oid-{person.upn.split('@')[0]}"
    for name, value in integration_settings.items():
        setattr(w.integration, name, value)
    # The integration's first discovery is not what these tests are about: settle it.
    for job in session.scalars(select(Job).where(Job.kind == JobKind.DISCOVER)):
        job.status = JobStatus.SUCCEEDED
    w.integration.last_sync_at = clock.now()
    session.commit()
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY, settings=flow_settings)
    return w


def approved(
    session: Session, clock, w: World, who=None, resources=None, **fields
) -> AccessRequest:
    """An approved request (by the manager) for ``who`` (alice) on ``resources`` (finance)."""
    request = make_request(session, clock, who or w.alice, resources or [w.finance], **fields)
    approve_request(session=session, clock=clock, actor=actor_for(w.boss), request_id=request.id)
    session.commit()
    return request


def tick(sessions: sessionmaker[Session], clock, config: ReconcilerConfig = QUIET, **kw):
    """One committed reconciler tick."""
    return run_tick(sessions=sessions, clock=clock, config=config, **kw)


@dataclass
class Directory:
    """Who holds what in the stand-in tenant: {(resource external id, permission): {principal}}."""

    members: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    fail: set[str] = field(default_factory=set)

    def holders(self, external_id: str, permission: str = "member") -> set[str]:
        return self.members.setdefault((external_id, permission), set())

    def _rid(self) -> list[str]:
        return [f"graph-req-{next(self.ids)}"]

    def respond(self, job: Job) -> JobResult:
        payload = parse_payload(job.kind, job.payload)
        if isinstance(payload, GrantPayload | RevokePayload):
            if payload.principal_id in self.fail:
                return JobResult(
                    outcome=Outcome.FAILED, error={"code": "Forbidden", "message": "no"}
                )
            holders = self.holders(payload.resource_external_id, str(payload.permission))
            present = payload.principal_id in holders
            if isinstance(payload, GrantPayload):
                holders.add(payload.principal_id)
                outcome = WriteOutcome.ALREADY_PRESENT if present else WriteOutcome.APPLIED
                return JobResult(
                    outcome=Outcome.SUCCEEDED,
                    data=GrantData(outcome=outcome, request_ids=self._rid()),
                )
            holders.discard(payload.principal_id)
            outcome = WriteOutcome.APPLIED if present else WriteOutcome.ALREADY_ABSENT
            return JobResult(
                outcome=Outcome.SUCCEEDED, data=RevokeData(outcome=outcome, request_ids=self._rid())
            )
        if isinstance(payload, ReadMembershipPayload):
            holders = self.holders(payload.resource_external_id, str(payload.permission))
            members = [MemberRef(id=m) for m in sorted(holders)]
            return JobResult(
                outcome=Outcome.SUCCEEDED,
                data=ReadMembershipData(members=members, request_ids=self._rid()),
            )
        raise AssertionError(f"unexpected job {job.kind}")


def run_connector(
    sessions: sessionmaker[Session], clock, connector_id: str, respond: Callable[[Job], JobResult]
) -> list[Job]:
    """Claim every due job of the connector and report each result (revocations first)."""
    handlers = default_registry()
    with sessions() as session:
        jobs = claim_jobs(
            session=session,
            clock=clock,
            handlers=handlers,
            connector_id=connector_id,
            instance_key="test-instance",
            max_jobs=50,
        )
        session.commit()
        for job in jobs:
            report_job_result(
                session=session,
                clock=clock,
                actor=CONNECTOR,
                handlers=handlers,
                connector_id=connector_id,
                instance_key="test-instance",
                job_id=job.id,
                lease_token=job.lease_token or "",
                result=respond(job),
            )
            session.commit()
    return jobs


def open_jobs(session: Session, kind: str | None = None) -> list[Job]:
    """Queued or leased jobs (of ``kind``)."""
    session.expire_all()
    query = select(Job).where(Job.status.in_((JobStatus.QUEUED, JobStatus.LEASED)))
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query.order_by(Job.priority, Job.created_at)))


def events(session: Session, action: str) -> list[AuditEvent]:
    """Audit events of one action."""
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def event_count(session: Session) -> int:
    """How many audit events exist."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def overlapping_request(session: Session, clock, original: AccessRequest) -> AccessRequest:
    """A second approved request with the same grant as ``original``, starting now.

    Request submission refuses a duplicate open request, but the engine must still keep overlapping
    grants apart (renewals and admin grants make them), so the rows are arranged directly.
    """
    from jitgate.server.requests.granting import create_grants  # noqa: PLC0415
    from jitgate.server.requests.models import AccessRequest, AccessRequestUnit  # noqa: PLC0415
    from jitgate.server.requests.states import RequestStatus  # noqa: PLC0415

    now = clock.now()
    units = session.scalars(
        select(AccessRequestUnit).where(AccessRequestUnit.request_id == original.id)
    ).all()
    request = AccessRequest(
        requester_id=original.requester_id,
        grantee_id=original.grantee_id,
        flow_id=original.flow_id,
        flow_name=original.flow_name,
        flow_snapshot=original.flow_snapshot,
        status=RequestStatus.APPROVED,
        duration_min=original.duration_min,
        created_at=now,
        updated_at=now,
        decided_at=now,
    )
    session.add(request)
    session.flush()
    copies = [
        AccessRequestUnit(
            request_id=request.id,
            integration_id=u.integration_id,
            resource_id=u.resource_id,
            permission=u.permission,
            scope=u.scope,
        )
        for u in units
    ]
    session.add_all(copies)
    session.flush()
    create_grants(session=session, request=request, units=copies, now=now)
    session.commit()
    return request
