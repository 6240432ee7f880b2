"""A request's grants as the reconciler moves them; each operation writes one audit event.

Grants are created by the request operations (``create_grants``, in their transaction); the
reconciler calls ``begin_granting``, ``activate_grant``, ``fail_grant``, ``revoke_grant`` and
``expire_grants``. Every operation locks the request row first, then its grants, and checks the
grant's status itself (a lost race is a ``Conflict``) before moving it through the table
(``jitgate.server.grants.states.move_grant``). They live with the requests (not in ``grants``,
below them) because each locks and moves the request its grant belongs to.

The canonical lock order (PostgreSQL row locks) of every transaction, so that two writers
queue instead of deadlocking:

1. ``job`` (a result report or a claim holds its job row first);
2. ``access_request`` rows, by id (``lock_requests``; a request's ``grant`` rows are only
   locked by the holder of the request, so they follow their request);
3. ``membership`` rows, by id;
4. ``resource_sync`` rows (``observed_member`` rows are written only under theirs), then
   ``standing_membership`` rows;
5. ``audit_head``, last of all: events are queued and appended just before COMMIT
   (``jitgate.server.audit.operations``).

A transaction that will touch several of these takes them up front in that order: the
reconciler's ``apply`` locks the requests and memberships of all its actions before the first
one, the result handlers lock the requests of the job's grants before its membership row.
Where a later step has to take a lock out of order (a tick that expires requests and then
plans more), a deadlock is still possible but rare: the loser is rolled back and retried (the
tick by its loop, a report by the connector after a 503).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.errors import Conflict, NotFound
from jitgate.server.actor import Actor
from jitgate.server.audit.operations import record_event
from jitgate.server.grants.due import mark_due
from jitgate.server.grants.models import Grant
from jitgate.server.grants.operations import LOCK_CHUNK, count_grants, end_grants, request_grants
from jitgate.server.grants.states import NOT_ENDED, EndReason, GrantStatus, move_grant
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit
from jitgate.server.requests.states import LIVE, RequestStatus
from jitgate.server.requests.transitions import (
    lock_request,
    lock_requests,
    move,
    request_summary,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock


def lock_requests_of(session: Session, grant_ids: Iterable[str]) -> None:
    """Lock the requests of these grants, by request id (before any membership row)."""
    ids = sorted(set(grant_ids))
    request_ids: set[str] = set()
    for start in range(0, len(ids), LOCK_CHUNK):
        chunk = ids[start : start + LOCK_CHUNK]
        request_ids.update(session.scalars(select(Grant.request_id).where(Grant.id.in_(chunk))))
    ordered = sorted(request_ids)
    for start in range(0, len(ordered), LOCK_CHUNK):
        lock_requests(session, ordered[start : start + LOCK_CHUNK])


def create_grants(
    *, session: Session, request: AccessRequest, units: list[AccessRequestUnit], now: datetime
) -> list[Grant]:
    """One pending grant per unit, from approval (or the requested later start) for the duration."""
    starts_at = max(now, request.starts_at) if request.starts_at else now
    request.starts_at = starts_at
    ends_at = starts_at + timedelta(minutes=request.duration_min) if request.duration_min else None
    grants = [
        Grant(
            request_id=request.id,
            unit_id=unit.id,
            identity_id=request.grantee_id,
            integration_id=unit.integration_id,
            resource_id=unit.resource_id,
            permission=unit.permission,
            scope=unit.scope,
            status=GrantStatus.PENDING,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=now,
            updated_at=now,
        )
        for unit in units
    ]
    session.add_all(grants)
    session.flush()
    mark_due(session, [g for g in grants if g.starts_at <= now])
    return grants


def _audit(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    request: AccessRequest,
    **after: object,
) -> None:
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        target_type="access_request",
        target_id=request.id,
        after=request_summary(request, **after),
    )


def begin_granting(
    *, session: Session, clock: Clock, request_id: str, actor: Actor | None = None
) -> AccessRequest:
    """The reconciler starts applying an approved request's grants: approved -> granting."""
    request = lock_request(session, request_id)
    move(request, RequestStatus.GRANTING, clock.now())
    _audit(session, clock, actor or Actor.system(), "request.granting", request)
    return request


def _locked_grant(session: Session, grant_id: str) -> tuple[AccessRequest, Grant]:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"no grant {grant_id!r}")
    request = lock_request(session, grant.request_id)
    grant = session.get(Grant, grant_id, with_for_update=True, populate_existing=True)
    if grant is None:
        raise NotFound(f"no grant {grant_id!r}")
    return request, grant


def activate_grant(
    *, session: Session, clock: Clock, grant_id: str, actor: Actor | None = None
) -> Grant:
    """The reconciler applied a grant; once all are applied the request is active."""
    request, grant = _locked_grant(session, grant_id)
    if grant.status is not GrantStatus.PENDING or request.status is not RequestStatus.GRANTING:
        raise Conflict(f"grant is {grant.status} and its request {request.status}; not granting")
    now = clock.now()
    move_grant(grant, GrantStatus.ACTIVE, now=now)
    grant.applied_at = now
    session.flush()
    if count_grants(session, request.id, Grant.status != GrantStatus.ACTIVE) == 0:
        move(request, RequestStatus.ACTIVE, now)
    _audit(session, clock, actor or Actor.system(), "grant.activate", request, grant_id=grant.id)
    return grant


def fail_grant(
    *, session: Session, clock: Clock, grant_id: str, error: str, actor: Actor | None = None
) -> Grant:
    """The reconciler could not apply a grant: the request fails and its other grants are undone."""
    request, grant = _locked_grant(session, grant_id)
    if grant.status not in {GrantStatus.PENDING, GrantStatus.ACTIVE}:
        raise Conflict(f"grant is {grant.status}; it cannot fail now")
    now = clock.now()
    move(request, RequestStatus.FAILED, now)
    request.end_reason = EndReason.FAILED
    by = (actor or Actor.system()).name
    move_grant(grant, GrantStatus.FAILED, now=now)
    grant.last_error = error[:2000]
    grant.ended_at, grant.ended_by, grant.end_reason = now, by, EndReason.FAILED
    end_grants(
        request_grants(session, request.id, lock=True), now=now, by=by, reason=EndReason.FAILED
    )
    _audit(
        session,
        clock,
        actor or Actor.system(),
        "grant.fail",
        request,
        grant_id=grant.id,
        error=error[:500],
    )
    return grant


def revoke_grant(
    *, session: Session, clock: Clock, grant_id: str, actor: Actor | None = None
) -> Grant:
    """The reconciler removed a grant's access; once all are gone the request is revoked/expired."""
    request, grant = _locked_grant(session, grant_id)
    if grant.status is not GrantStatus.REVOKING:
        raise Conflict(f"grant is {grant.status}, not revoking")
    now = clock.now()
    move_grant(grant, GrantStatus.ENDED, now=now)
    grant.removed_at = now
    session.flush()
    remaining = count_grants(session, request.id, Grant.status.in_(NOT_ENDED))
    if not remaining and request.status is RequestStatus.REVOKING:
        expired = request.end_reason is EndReason.EXPIRED
        move(request, RequestStatus.EXPIRED if expired else RequestStatus.REVOKED, now)
    _audit(session, clock, actor or Actor.system(), "grant.remove", request, grant_id=grant.id)
    return grant


def expire_request(
    *, session: Session, clock: Clock, request_id: str, actor: Actor | None = None
) -> AccessRequest:
    """A live request whose grants have reached their end goes to revoking (reason expired)."""
    request = lock_request(session, request_id)
    now = clock.now()
    grants = request_grants(session, request.id, lock=True)
    if request.status not in LIVE or not grants:
        raise Conflict(f"the request is {request.status}; only live requests expire")
    if any(g.ends_at is None or g.ends_at > now for g in grants if g.status in NOT_ENDED):
        raise Conflict("the request's access has not reached its end")
    actor = actor or Actor.system()
    move(request, RequestStatus.REVOKING, now)
    request.end_reason = EndReason.EXPIRED
    end_grants(grants, now=now, by=actor.name, reason=EndReason.EXPIRED)
    _audit(session, clock, actor, "request.expire", request)
    return request


def expire_grants(*, session: Session, clock: Clock, actor: Actor | None = None) -> list[str]:
    """Expire every live request whose grants are due; return their ids (one event each)."""
    due = session.scalars(
        select(AccessRequest.id)
        .join(Grant, Grant.request_id == AccessRequest.id)
        .where(
            AccessRequest.status.in_(LIVE),
            Grant.ended_at.is_(None),
            Grant.ends_at <= clock.now(),
        )
        .distinct()
        .order_by(AccessRequest.id)
    ).all()
    for request_id in due:
        expire_request(session=session, clock=clock, request_id=request_id, actor=actor)
    return list(due)
