"""Submitting and deciding access requests; each operation is one state change and one event.

Every operation locks the request row before it checks the status, so of two racing deciders
one wins and the other gets a 409. A refused operation raises before it writes anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.core.errors import Conflict, Forbidden, ValidationFailed
from jitgate.server.actor import mfa_record
from jitgate.server.audit.operations import record_event
from jitgate.server.flows.approvers import policy_satisfied
from jitgate.server.identities.models import Identity
from jitgate.server.identities.service import find_identity
from jitgate.server.requests.granting import create_grants
from jitgate.server.requests.judging import judge_request
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit, Approval
from jitgate.server.requests.service import actor_identity, ensure_visible, load_context
from jitgate.server.requests.states import Decision, RequestStatus
from jitgate.server.requests.transitions import lock_request, move, request_summary

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor
    from jitgate.server.requests.judging import Judgement
    from jitgate.server.requests.schemas import RequestCreate
    from jitgate.server.requests.service import RequestContext

VERBS = {Decision.APPROVED: "approve", Decision.REJECTED: "reject"}


def _store(
    session: Session, judgement: Judgement, data: RequestCreate, now: datetime
) -> AccessRequest:
    flow = judgement.flow
    if flow is None:  # pragma: no cover - callers check first
        raise judgement.not_eligible()
    request = AccessRequest(
        requester_id=judgement.requester.id,
        grantee_id=judgement.grantee.id,
        flow_id=flow.id,
        flow_name=flow.name,
        flow_snapshot=flow.model_dump(mode="json"),
        status=RequestStatus.PENDING,
        justification=(data.justification or "").strip() or None,
        duration_min=judgement.duration_min,
        starts_at=data.starts_at,
        extension_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    session.add_all(
        AccessRequestUnit(
            request_id=request.id,
            integration_id=u.integration.id,
            resource_id=u.resource.id,
            permission=u.permission,
            scope=u.scope,
        )
        for u in judgement.units
    )
    session.flush()
    return request


def _lock_grantee(session: Session, actor: Actor, data: RequestCreate) -> None:
    """Serialise one grantee's submissions so the duplicate check holds under concurrency."""
    ref = data.grantee or actor.identity_id
    grantee = find_identity(session=session, ref=ref) if ref else None
    if grantee is not None:
        session.get(Identity, grantee.id, with_for_update=True)


def submit_request(
    *, session: Session, clock: Clock, actor: Actor, data: RequestCreate
) -> AccessRequest:
    """File a request; with no approvers needed (or an automatic flow) it is approved at once."""
    now = clock.now()
    _lock_grantee(session, actor, data)
    judgement = judge_request(session=session, actor=actor, data=data, now=now)
    if judgement.flow is None:
        raise judgement.not_eligible()
    if judgement.problems:
        raise judgement.problems[0]
    request = _store(session, judgement, data, now)
    ctx = load_context(session=session, request=request)
    if not ctx.needs_approval:
        move(request, RequestStatus.APPROVED, now)
        request.decided_at = now
        create_grants(session=session, request=request, units=ctx.units, now=now)
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="request.submit",
        target_type="access_request",
        target_id=request.id,
        after=request_summary(
            request, units=[f"{u.permission}:{u.resource_id}:{u.scope}" for u in ctx.units]
        ),
        context={"mfa": mfa} if (mfa := mfa_record(actor)) is not None else None,
    )
    return request


def _decider(
    session: Session, ctx: RequestContext, actor: Actor, now: datetime, decision: Decision
) -> tuple[Identity, int]:
    """Check that ``actor`` may decide ``ctx`` now; return them and their tier."""
    request = ctx.request
    verb = VERBS[decision]
    if request.status is not RequestStatus.PENDING:
        raise Conflict(f"the request is {request.status}; only pending requests can be decided")
    identity = actor_identity(session=session, actor=actor)
    if ctx.approval.excluded(identity):
        raise Forbidden(f"you cannot {verb} a request you made or that gives you access")
    tier = ctx.tier_of(identity, now)
    if tier is None:
        raise Forbidden("you are not an approver of this request (now)")
    if ctx.decided(identity.id):
        raise Conflict("you have already decided this request")
    return identity, tier


def _check_reason(ctx: RequestContext, reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    if ctx.flow.settings.approver_reason_required and reason is None:
        raise ValidationFailed.field("reason", "this flow requires the approver's reason")
    return reason


def _decide(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    request_id: str,
    reason: str | None,
    decision: Decision,
) -> AccessRequest:
    now = clock.now()
    request = lock_request(session, request_id)
    ctx = load_context(session=session, request=request)
    ensure_visible(session=session, ctx=ctx, actor=actor, now=now)
    identity, tier = _decider(session, ctx, actor, now, decision)
    reason = _check_reason(ctx, reason)
    before = request_summary(request)
    self_approved = identity.id in {request.requester_id, request.grantee_id}
    session.add(
        Approval(
            request_id=request.id,
            approver_id=identity.id,
            decision=decision,
            reason=reason,
            tier=tier,
            self_approved=self_approved,
            created_at=now,
        )
    )
    if decision is Decision.REJECTED:
        move(request, RequestStatus.REJECTED, now)
        request.decided_at = now
    elif policy_satisfied(
        ctx.flow.approver_policy,
        ctx.flow.escalation_policy,
        ctx.unlocked(now),
        [*ctx.approved_by(), identity],
        ctx.approval,
    ):
        move(request, RequestStatus.APPROVED, now)
        request.decided_at = now
        create_grants(session=session, request=request, units=ctx.units, now=now)
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action=f"request.{VERBS[decision]}",
        target_type="access_request",
        target_id=request.id,
        before=before,
        after=request_summary(request, decision=str(decision), tier=tier, reason=reason),
    )
    return request


def approve_request(
    *, session: Session, clock: Clock, actor: Actor, request_id: str, reason: str | None = None
) -> AccessRequest:
    """Record an approval; when the policy is satisfied the request is approved and granted."""
    return _decide(
        session=session,
        clock=clock,
        actor=actor,
        request_id=request_id,
        reason=reason,
        decision=Decision.APPROVED,
    )


def reject_request(
    *, session: Session, clock: Clock, actor: Actor, request_id: str, reason: str | None = None
) -> AccessRequest:
    """Reject a pending request (any eligible approver's rejection rejects it)."""
    return _decide(
        session=session,
        clock=clock,
        actor=actor,
        request_id=request_id,
        reason=reason,
        decision=Decision.REJECTED,
    )
