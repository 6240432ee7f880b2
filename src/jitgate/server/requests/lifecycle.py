"""Cancelling, extending and revoking access requests; one state change and one event each."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from jitgate.core.errors import Conflict, Forbidden
from jitgate.server.audit.operations import record_event
from jitgate.server.flows.schemas import AccessFlowRead
from jitgate.server.grants.due import mark_due
from jitgate.server.grants.operations import end_grants, request_grants
from jitgate.server.grants.states import NOT_ENDED, EndReason, GrantStatus
from jitgate.server.requests.service import ensure_visible, load_context
from jitgate.server.requests.states import RequestStatus
from jitgate.server.requests.transitions import lock_request, move, request_summary

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor
    from jitgate.server.grants.models import Grant
    from jitgate.server.requests.models import AccessRequest

EXTENDABLE = frozenset({RequestStatus.APPROVED, RequestStatus.ACTIVE})
REVOCABLE = frozenset({RequestStatus.APPROVED, RequestStatus.GRANTING, RequestStatus.ACTIVE})


def _record(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    request: AccessRequest,
    *,
    before: dict[str, object],
    **after: object,
) -> None:
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        target_type="access_request",
        target_id=request.id,
        before=before,
        after=request_summary(request, **after),
    )


def _visible(session: Session, actor: Actor, request: AccessRequest, clock: Clock) -> None:
    """A request the actor may not read is 404, before any 403 or 409 could tell it exists."""
    ctx = load_context(session=session, request=request)
    ensure_visible(session=session, ctx=ctx, actor=actor, now=clock.now())


def cancel_request(
    *, session: Session, clock: Clock, actor: Actor, request_id: str
) -> AccessRequest:
    """The requester withdraws a pending request, or an approved one not yet being granted."""
    request = lock_request(session, request_id)
    _visible(session, actor, request, clock)
    if actor.identity_id != request.requester_id:
        raise Forbidden("only the requester can cancel a request")
    if request.status not in {RequestStatus.PENDING, RequestStatus.APPROVED}:
        raise Conflict(f"the request is {request.status}; it can no longer be cancelled")
    grants = request_grants(session, request.id, lock=True)
    if any(g.status is not GrantStatus.PENDING for g in grants):
        raise Conflict("granting has started; revoke the request instead")
    now = clock.now()
    before = request_summary(request)
    move(request, RequestStatus.CANCELLED, now)
    request.end_reason = EndReason.CANCELLED
    end_grants(grants, now=now, by=actor.name, reason=EndReason.CANCELLED)
    _record(session, clock, actor, "request.cancel", request, before=before)
    return request


def _snapshot(request: AccessRequest) -> AccessFlowRead:
    return AccessFlowRead.model_validate(request.flow_snapshot)


def _new_end(flow: AccessFlowRead, live: list[Grant], now: datetime) -> datetime:
    settings = flow.settings
    step = timedelta(minutes=settings.extension_duration_min or 0)
    ends = {g.ends_at for g in live}
    if None in ends:
        raise Conflict("the access has no end; there is nothing to extend")
    end = max(e for e in ends if e is not None) + step
    limit = flow.max_duration_min
    start = max([now, *(g.starts_at for g in live)])
    if limit is not None and end - start > timedelta(minutes=limit):
        left = int((end - start).total_seconds() // 60)
        raise Forbidden(
            f"extending would leave {left} minutes of access; flow {flow.name!r} allows at most "
            f"{limit} minutes at a time"
        )
    return end


def extend_request(
    *, session: Session, clock: Clock, actor: Actor, request_id: str
) -> AccessRequest:
    """Move the end of a request's live grants by the flow's extension length."""
    request = lock_request(session, request_id)
    _visible(session, actor, request, clock)
    if actor.identity_id != request.requester_id and not actor.is_admin:
        raise Forbidden("only the requester or an admin can extend a request")
    if request.status not in EXTENDABLE:
        raise Conflict(f"the request is {request.status}; only approved or active access extends")
    flow = _snapshot(request)
    allowed = flow.settings.max_extensions
    if allowed == 0:
        raise Forbidden(f"flow {flow.name!r} allows no extensions")
    if request.extension_count >= allowed:
        raise Forbidden(f"no extensions left: flow {flow.name!r} allows {allowed}")
    now = clock.now()
    live = [g for g in request_grants(session, request.id, lock=True) if g.ended_at is None]
    if not live:
        raise Conflict("the request has no live grants")
    end = _new_end(flow, live, now)
    before = request_summary(request, ends_at=str(live[0].ends_at))
    for grant in live:
        grant.ends_at = end
        grant.updated_at = now
    request.extension_count += 1
    request.updated_at = now
    mark_due(session, live)  # pim mode: the reconciler moves Entra's expiry as soon as this commits
    _record(
        session, clock, actor, "request.extend", request, before=before, ends_at=end.isoformat()
    )
    return request


def revoke_request(
    *, session: Session, clock: Clock, actor: Actor, request_id: str, reason: str | None = None
) -> AccessRequest:
    """End the access now (grantee, requester or admin); the reconciler then removes it."""
    request = lock_request(session, request_id)
    _visible(session, actor, request, clock)
    allowed = {request.requester_id, request.grantee_id}
    if actor.identity_id not in allowed and not actor.is_admin:
        raise Forbidden("only the grantee, the requester or an admin can revoke this access")
    if request.status not in REVOCABLE:
        raise Conflict(f"the request is {request.status}; there is no access to revoke")
    now = clock.now()
    before = request_summary(request)
    grants = [g for g in request_grants(session, request.id, lock=True) if g.status in NOT_ENDED]
    move(request, RequestStatus.REVOKING, now)
    request.end_reason = EndReason.REVOKED
    end_grants(grants, now=now, by=actor.name, reason=EndReason.REVOKED)
    mark_due(session, grants)  # the reconciler removes the access as soon as this commits
    _record(session, clock, actor, "request.revoke", request, before=before, reason=reason)
    return request
