"""Turning planned actions into durable job rows and grant state changes (the reconciler's I/O).

Every Graph change becomes a job row (``enqueue_job``; revocations at a higher priority than
grants, invariant 7) linked from the key's ``membership`` row, which holds the key's one open
job: an action whose key already has an open job changes nothing (idempotent ticks). Grant rows
change only through the grant operations, each with its one audit event. Each action runs in a
savepoint: a lost race (``Conflict``) skips that action, not the tick.

Before the first action, ``lock_rows`` takes every request and membership row the actions will
change, in the canonical lock order (``jitgate.server.requests.granting``): requests by id, then
memberships by id. Taken action by action they would interleave (request R1, membership M2, ...)
and deadlock with a result handler that holds M2 and waits for R1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.errors import JitgateError
from jitgate.protocol.v1 import (
    GrantMode,
    GrantPayload,
    Permission,
    ReadMembershipPayload,
    ResourceType,
    RevokePayload,
)
from jitgate.server.actor import RECONCILER
from jitgate.server.audit.operations import record_event
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.grants.operations import LOCK_CHUNK
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration, Resource
from jitgate.server.integrations.sync_models import ResourceSync
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.jobs.operations import enqueue_job
from jitgate.server.reconciler.plan import Action, ActionKind
from jitgate.server.requests.granting import (
    activate_grant,
    begin_granting,
    lock_requests_of,
    revoke_grant,
)
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.grants.keys import MembershipKey

log = logging.getLogger(__name__)

OPEN_JOB = (JobStatus.QUEUED, JobStatus.LEASED)


@dataclass(frozen=True, slots=True)
class Applied:
    """What ``apply`` did with one action."""

    action: Action
    outcome: str  # "done", "queued", "skipped: <why>", "dry-run"


def membership_row(session: Session, clock: Clock, key: MembershipKey) -> Membership:
    """The key's membership row, locked (created, not applied, when missing)."""
    query = select(Membership).where(
        Membership.resource_id == key.resource_id,
        Membership.permission == key.permission,
        Membership.scope == key.scope,
        Membership.principal_id == key.principal_id,
    )
    row = session.scalars(query.with_for_update()).one_or_none()
    if row is None:
        row = Membership(
            integration_id=key.integration_id,
            resource_id=key.resource_id,
            permission=key.permission,
            scope=key.scope,
            principal_id=key.principal_id,
            applied=False,
            pim_fallbacks=0,
            updated_at=clock.now(),
        )
        session.add(row)
        session.flush()
    return row


def open_job(session: Session, job_id: str | None) -> Job | None:
    """The job named, if it is still queued or leased."""
    if job_id is None:
        return None
    job = session.get(Job, job_id)
    return job if job is not None and job.status in OPEN_JOB else None


def _target(session: Session, key: MembershipKey) -> tuple[Integration, Resource]:
    integration = session.get(Integration, key.integration_id)
    resource = session.get(Resource, key.resource_id)
    if integration is None or resource is None:
        raise JitgateError(f"integration or resource of {key} is gone")
    if integration.connector_id is None:
        raise JitgateError(f"integration {integration.name!r} has no connector")
    return integration, resource


def _upn(session: Session, principal_id: str) -> str | None:
    query = select(Identity.upn).where(Identity.object_id == principal_id)
    return session.scalar(query.order_by(Identity.created_at, Identity.id).limit(1))


def _target_fields(session: Session, key: MembershipKey, resource: Resource) -> dict[str, object]:
    return {
        "principal_id": key.principal_id,
        "principal_upn": _upn(session, key.principal_id),
        "resource_type": ResourceType(resource.type),
        "resource_external_id": resource.external_id,
        "permission": Permission(key.permission),
        "directory_scope_id": key.scope,
    }


def _start_requests(session: Session, clock: Clock, grant_ids: Sequence[str]) -> None:
    request_ids = session.scalars(
        select(AccessRequest.id)
        .join(Grant, Grant.request_id == AccessRequest.id)
        .where(Grant.id.in_(grant_ids), AccessRequest.status == RequestStatus.APPROVED)
        .distinct()
    ).all()
    for request_id in sorted(request_ids):
        begin_granting(session=session, clock=clock, request_id=request_id, actor=RECONCILER)


def _grant(session: Session, clock: Clock, action: Action) -> str:
    row = membership_row(session, clock, action.key)
    if open_job(session, row.job_id) is not None:
        return f"skipped: job {row.job_id} is open"
    integration, resource = _target(session, action.key)
    _start_requests(session, clock, action.grant_ids)
    pim = integration.grant_mode is GrantMode.PIM
    payload = GrantPayload(
        **_target_fields(session, action.key, resource),
        grant_mode=GrantMode.PIM if pim else GrantMode.DIRECT,
        ends_at=action.ends_at if pim else None,
        grant_ids=list(action.grant_ids),
    )
    job = enqueue_job(
        session=session,
        clock=clock,
        connector_id=integration.connector_id or "",
        payload=payload,
        integration_id=integration.id,
    )
    row.job_id, row.job_kind, row.updated_at = job.id, "grant", clock.now()
    return "queued"


def _extend(session: Session, clock: Clock, action: Action) -> str:
    """Queue a PIM write that moves the key's Entra expiry to ``action.ends_at``."""
    row = membership_row(session, clock, action.key)
    if open_job(session, row.job_id) is not None:
        return f"skipped: job {row.job_id} is open"
    if not row.applied or action.ends_at is None:
        return "skipped: nothing applied to extend"
    integration, resource = _target(session, action.key)
    if integration.grant_mode is not GrantMode.PIM:
        return "skipped: the integration is not in pim mode"
    payload = GrantPayload(
        **_target_fields(session, action.key, resource),
        grant_mode=GrantMode.PIM,
        ends_at=action.ends_at,
        grant_ids=list(action.grant_ids),
        extend=True,
    )
    job = enqueue_job(
        session=session,
        clock=clock,
        connector_id=integration.connector_id or "",
        payload=payload,
        integration_id=integration.id,
    )
    row.job_id, row.job_kind, row.updated_at = job.id, "extend", clock.now()
    return "queued"


def enqueue_revoke(
    session: Session, clock: Clock, key: MembershipKey, grant_ids: Sequence[str], *, direct: bool
) -> Job | None:
    """Queue the key's revoke job unless a job is already open on the key."""
    row = membership_row(session, clock, key)
    if open_job(session, row.job_id) is not None:
        return None
    integration, resource = _target(session, key)
    pim = integration.grant_mode is GrantMode.PIM and not direct
    payload = RevokePayload(
        **_target_fields(session, key, resource),
        grant_mode=GrantMode.PIM if pim else GrantMode.DIRECT,
        grant_ids=list(grant_ids),
        assignment_id=row.assignment_id,
    )
    job = enqueue_job(
        session=session,
        clock=clock,
        connector_id=integration.connector_id or "",
        payload=payload,
        integration_id=integration.id,
    )
    row.job_id, row.job_kind, row.updated_at = job.id, "revoke", clock.now()
    return job


def _revoke(session: Session, clock: Clock, action: Action) -> str:
    job = enqueue_revoke(session, clock, action.key, action.grant_ids, direct=action.pim_fallback)
    if job is None:
        return "skipped: a job is open on the key"
    if action.pim_fallback:
        row = membership_row(session, clock, action.key)
        row.pim_fallbacks += 1
        record_event(
            session=session,
            clock=clock,
            actor=RECONCILER,
            action="membership.pim_overdue",
            target_type="membership",
            target_id=row.id,
            after={"principal_id": row.principal_id, "resource_id": row.resource_id},
            context={"job_id": job.id, "grant_ids": list(action.grant_ids)},
        )
    return "queued"


def enqueue_read(
    session: Session,
    clock: Clock,
    resource: Resource,
    permission: str,
    scope: str,
    *,
    run_after: datetime | None = None,
) -> Job | None:
    """Queue a membership read of one resource x permission x scope unless one is open.

    With ``run_after`` (a read that must not run before then), an open read that runs earlier
    does not count: the new one is queued and becomes the resource's linked read (the earlier
    one still runs and its result is still judged). The read continues from the key's stored
    delta link (``grants.observed``), if any.
    """
    sync = session.get(ResourceSync, (resource.id, permission, scope), with_for_update=True)
    if sync is None:
        sync = ResourceSync(
            resource_id=resource.id,
            permission=permission,
            scope=scope,
            integration_id=resource.integration_id,
        )
        session.add(sync)
    pending = open_job(session, sync.job_id)
    if pending is not None and (run_after is None or pending.run_after >= run_after):
        return None
    integration = session.get(Integration, resource.integration_id)
    if integration is None or integration.connector_id is None:
        return None
    payload = ReadMembershipPayload(
        resource_type=ResourceType(resource.type),
        resource_external_id=resource.external_id,
        permission=Permission(permission),
        directory_scope_id=scope,
        delta_link=sync.delta_link,
    )
    job = enqueue_job(
        session=session,
        clock=clock,
        connector_id=integration.connector_id,
        payload=payload,
        integration_id=integration.id,
        run_after=run_after,
    )
    sync.job_id = job.id
    session.flush()
    return job


def _verify(session: Session, clock: Clock, action: Action) -> str:
    _, resource = _target(session, action.key)
    job = enqueue_read(session, clock, resource, action.key.permission, action.key.scope)
    return "queued" if job is not None else "skipped: a read is open"


def _mark_ended(session: Session, clock: Clock, action: Action) -> str:
    for grant_id in action.grant_ids:
        revoke_grant(session=session, clock=clock, grant_id=grant_id, actor=RECONCILER)
    return "done"


def _activate(session: Session, clock: Clock, action: Action) -> str:
    _start_requests(session, clock, action.grant_ids)
    for grant_id in action.grant_ids:
        activate_grant(session=session, clock=clock, grant_id=grant_id, actor=RECONCILER)
    return "done"


STEPS = {
    ActionKind.GRANT: _grant,
    ActionKind.EXTEND: _extend,
    ActionKind.REVOKE: _revoke,
    ActionKind.VERIFY: _verify,
    ActionKind.MARK_ENDED: _mark_ended,
    ActionKind.ACTIVATE: _activate,
}


#: Actions that change requests (through their grants), and actions that change memberships.
REQUEST_STEPS = frozenset({ActionKind.GRANT, ActionKind.ACTIVATE, ActionKind.MARK_ENDED})
MEMBERSHIP_STEPS = frozenset({ActionKind.GRANT, ActionKind.EXTEND, ActionKind.REVOKE})


def lock_rows(session: Session, actions: Sequence[Action]) -> None:
    """Lock the requests, then the memberships, that ``actions`` will change (each by id)."""
    lock_requests_of(session, [g for a in actions if a.kind in REQUEST_STEPS for g in a.grant_ids])
    keys = {
        (a.key.resource_id, a.key.permission, a.key.scope, a.key.principal_id)
        for a in actions
        if a.kind in MEMBERSHIP_STEPS
    }
    resource_ids = sorted({k[0] for k in keys})
    ids: list[str] = []
    for start in range(0, len(resource_ids), LOCK_CHUNK):
        rows = session.execute(
            select(
                Membership.id,
                Membership.resource_id,
                Membership.permission,
                Membership.scope,
                Membership.principal_id,
            ).where(Membership.resource_id.in_(resource_ids[start : start + LOCK_CHUNK]))
        )
        ids += [row.id for row in rows if tuple(row[1:]) in keys]
    ids.sort()
    for start in range(0, len(ids), LOCK_CHUNK):
        session.scalars(
            select(Membership.id)
            .where(Membership.id.in_(ids[start : start + LOCK_CHUNK]))
            .order_by(Membership.id)
            .with_for_update()
        ).all()


def apply(
    actions: Sequence[Action], *, session: Session, clock: Clock, dry_run: bool
) -> list[Applied]:
    """Carry out ``actions`` in order; with ``dry_run`` write nothing and report the plan."""
    if dry_run:
        return [Applied(action, "dry-run") for action in actions]
    lock_rows(session, actions)
    done: list[Applied] = []
    for action in actions:
        try:
            with session.begin_nested():
                outcome = STEPS[action.kind](session, clock, action)
        except (JitgateError, ValueError) as err:
            log.warning(
                "reconciler action skipped", extra={"action": action.describe(), "error": str(err)}
            )
            outcome = f"skipped: {err}"
        done.append(Applied(action, outcome))
    return done
