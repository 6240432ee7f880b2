"""Drift: read who holds each managed resource and compare it with grants and standing rows.

A resource x permission x scope is *managed* once the broker has a membership row on it. Reads
are ``read_membership`` jobs, queued per managed resource every ``drift_interval`` (and by the
reconciler to verify PIM expiries). Group member reads are delta rounds; ``observed`` turns each
result into the whole current member set. The result handler compares the members with what the
broker knows:

* a member the broker applied that is gone: if a live grant still wants it, the row is marked not
  applied and the next tick **grants it again** (``drift.missing``: someone removed it by hand; the
  grant was approved and is still in force, so the broker restores it); otherwise the removal is
  confirmed and the key's ending grants end (a PIM expiry that Entra carried out);
* a standing member that is gone: its row is closed (``membership.standing_gone``);
* a member that no applied membership, live grant or standing row backs:
  ``additive`` integrations record it as standing and report it (``drift.unknown_member``; it is
  never removed); ``authoritative`` integrations remove it (``drift.remove``) unless an admin put
  its standing row on the allow-list;
* except a member the broker itself removed while one of its own grant writes could still land
  (``late_write``): that is the broker's late write, removed again (``membership.late_write``),
  never standing.

Each finding is one audit event. ``jitgate_unbacked_members`` (metrics) counts the reported,
still-present members.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from jitgate.protocol.v1 import ReadMembershipData, ReadMembershipPayload
from jitgate.server.actor import RECONCILER
from jitgate.server.audit.operations import record_event
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.models import Grant, Membership, StandingMembership
from jitgate.server.grants.standing import mark_standing_gone, record_standing
from jitgate.server.grants.states import GrantStatus
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import (
    Integration,
    IntegrationStatus,
    MembershipMode,
    Resource,
)
from jitgate.server.integrations.sync_models import ResourceSync
from jitgate.server.jobs.models import JobStatus
from jitgate.server.jobs.service import parse_payload
from jitgate.server.reconciler.apply import enqueue_read, enqueue_revoke
from jitgate.server.reconciler.late_write import judge_late_writes
from jitgate.server.reconciler.observed import DEFAULT_FULL_EVERY, observe
from jitgate.server.reconciler.state import key_of, live_grant_clause
from jitgate.server.requests.granting import lock_requests_of, revoke_grant

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult
    from jitgate.server.jobs.models import Job

ACTIVE_STATUSES = (
    IntegrationStatus.ACTIVE,
    IntegrationStatus.WARNING,
    IntegrationStatus.REFRESHING,
)


def schedule_drift_reads(
    *, session: Session, clock: Clock, interval: timedelta, limit: int = 200
) -> list[str]:
    """Queue reads of managed resources not read within ``interval``; return the job ids."""
    now = clock.now()
    managed = session.execute(
        select(Membership.resource_id, Membership.permission, Membership.scope)
        .join(Integration, Integration.id == Membership.integration_id)
        .outerjoin(
            ResourceSync,
            (ResourceSync.resource_id == Membership.resource_id)
            & (ResourceSync.permission == Membership.permission)
            & (ResourceSync.scope == Membership.scope),
        )
        .where(
            Integration.deleted_at.is_(None),
            Integration.status.in_(ACTIVE_STATUSES),
            or_(ResourceSync.last_read_at.is_(None), ResourceSync.last_read_at <= now - interval),
        )
        .distinct()
        .limit(limit)
    ).all()
    jobs: list[str] = []
    for resource_id, permission, scope in managed:
        resource = session.get(Resource, resource_id)
        if resource is None or resource.removed_at is not None:
            continue
        job = enqueue_read(session, clock, resource, permission, scope)
        if job is not None:
            jobs.append(job.id)
    return jobs


def _wanted(
    session: Session, resource: Resource, payload: ReadMembershipPayload, now: datetime
) -> set[str]:
    """Principals a live grant wants on this resource x permission x scope."""
    return set(
        session.scalars(
            select(Identity.object_id)
            .join(Grant, Grant.identity_id == Identity.id)
            .where(
                Grant.resource_id == resource.id,
                Grant.permission == str(payload.permission),
                Grant.scope == payload.directory_scope_id,
                live_grant_clause(now),  # type: ignore[arg-type]
            )
        )
    )


def _ending_grant_ids(session: Session, resource: Resource, perm: str, scope: str) -> list[str]:
    """Grants on this resource x permission x scope that a confirmed removal would end."""
    return list(
        session.scalars(
            select(Grant.id).where(
                Grant.resource_id == resource.id,
                Grant.permission == perm,
                Grant.scope == scope,
                Grant.status == GrantStatus.REVOKING,
            )
        )
    )


def _read_done(
    session: Session, clock: Clock, job: Job, *, resource: Resource, perm: str, scope: str
) -> ResourceSync | None:
    """The resource's linked read is this one: it is done (the next one may be queued)."""
    sync = session.get(ResourceSync, (resource.id, perm, scope), with_for_update=True)
    if sync is not None and sync.job_id == job.id:
        sync.job_id = None
        sync.last_read_at = clock.now()
    return sync


def _resource_of(session: Session, job: Job, payload: ReadMembershipPayload) -> Resource | None:
    return session.scalars(
        select(Resource).where(
            Resource.integration_id == job.integration_id,
            Resource.type == str(payload.resource_type),
            Resource.external_id == payload.resource_external_id,
        )
    ).one_or_none()


def handle_read_membership_result(
    *,
    session: Session,
    clock: Clock,
    job: Job,
    result: JobResult,
    full_every: timedelta = DEFAULT_FULL_EVERY,
) -> None:
    """Compare a resource's members with the broker's knowledge (see the module docstring)."""
    payload = parse_payload(job.kind, job.payload)
    if not isinstance(payload, ReadMembershipPayload):
        return
    resource = _resource_of(session, job, payload)
    if resource is None:
        return
    perm, scope = str(payload.permission), payload.directory_scope_id
    data = result.data
    if job.status is not JobStatus.SUCCEEDED or not isinstance(data, ReadMembershipData):
        _read_done(session, clock, job, resource=resource, perm=perm, scope=scope)
        return
    wanted = _wanted(session, resource, payload, clock.now())
    context: dict[str, object] = {"job_id": job.id, "request_ids": list(data.request_ids)}
    # The canonical lock order: the requests a removal may end, the memberships, then the sync.
    lock_requests_of(session, _ending_grant_ids(session, resource, perm, scope))
    rows = list(
        session.scalars(
            select(Membership)
            .where(
                Membership.resource_id == resource.id,
                Membership.permission == perm,
                Membership.scope == scope,
            )
            .order_by(Membership.id)
            .with_for_update()
        )
    )
    sync = _read_done(session, clock, job, resource=resource, perm=perm, scope=scope)
    # The observed set is written under the sync row's lock, the last one taken.
    members = observe(session=session, clock=clock, sync=sync, data=data, full_every=full_every)
    if members is None:
        return  # changes without the set they apply to: the next read is a full round
    # A read queued before (or just after) a write may not show it: the connector can have read
    # the members before the write landed, and Graph reads lag writes. Judge only older writes.
    settled = job.created_at - READ_SETTLE
    _check_applied(
        session,
        clock,
        applied=[r for r in rows if r.applied and (r.applied_at is None or r.applied_at < settled)],
        members=members,
        wanted=wanted,
        context=context,
    )
    standing = list(
        session.scalars(
            select(StandingMembership).where(
                StandingMembership.resource_id == resource.id,
                StandingMembership.permission == perm,
                StandingMembership.scope == scope,
                StandingMembership.removed_at.is_(None),
            )
        )
    )
    for row in standing:
        if row.principal_id not in members:
            mark_standing_gone(session=session, clock=clock, actor=RECONCILER, row=row)
    backed = {r.principal_id for r in rows if r.applied} | wanted
    backed |= judge_late_writes(
        session=session,
        clock=clock,
        job=job,
        rows=rows,
        members=members,
        wanted=wanted,
        context=context,
    )
    known = {r.principal_id: r for r in standing}
    for principal in sorted(members - backed):
        key = MembershipKey(resource.integration_id, resource.id, perm, scope, principal)
        _unbacked(session, clock, key, known.get(principal), context)


READ_SETTLE = timedelta(seconds=30)
"""A membership applied later than this before a read was queued is not judged by that read."""


def _check_applied(
    session: Session,
    clock: Clock,
    *,
    applied: list[Membership],
    members: set[str],
    wanted: set[str],
    context: dict[str, object],
) -> None:
    now = clock.now()
    for row in applied:
        if row.principal_id in members or row.job_id is not None:
            continue  # present, or a write on the key is in flight: the read may predate it
        row.applied, row.removed_at, row.updated_at = False, now, now
        session.flush()
        ending = list(
            session.scalars(
                select(Grant)
                .join(Identity, Identity.id == Grant.identity_id)
                .where(
                    Grant.resource_id == row.resource_id,
                    Grant.permission == row.permission,
                    Grant.scope == row.scope,
                    Identity.object_id == row.principal_id,
                    Grant.status == GrantStatus.REVOKING,
                )
            )
        )
        if row.principal_id not in wanted and ending:
            for grant in ending:
                revoke_grant(session=session, clock=clock, grant_id=grant.id, actor=RECONCILER)
            continue
        action = "drift.missing" if row.principal_id in wanted else "membership.gone"
        _audit(session, clock, action, key_of(row), context)


def _unbacked(
    session: Session,
    clock: Clock,
    key: MembershipKey,
    standing: StandingMembership | None,
    context: dict[str, object],
) -> None:
    integration = session.get(Integration, key.integration_id)
    if integration is None:
        return
    if integration.membership_mode is MembershipMode.AUTHORITATIVE:
        if standing is not None and standing.allowed:
            return
        job = enqueue_revoke(session, clock, key, [], direct=True)
        if job is not None:
            _audit(session, clock, "drift.remove", key, {**context, "revoke_job_id": job.id})
        return
    if standing is None:
        record_standing(
            session=session,
            clock=clock,
            actor=RECONCILER,
            key=key,
            source="drift",
            action="drift.unknown_member",
            context=context,
        )


def _audit(
    session: Session, clock: Clock, action: str, key: MembershipKey, context: dict[str, object]
) -> None:
    record_event(
        session=session,
        clock=clock,
        actor=RECONCILER,
        action=action,
        target_type="resource",
        target_id=key.resource_id,
        after={"principal_id": key.principal_id, "permission": key.permission, "scope": key.scope},
        context=context,
    )
