"""Reading access requests: the context their approvers are judged in, visibility and lists.

A request is judged by the flow snapshot taken when it was submitted, never by the flow's
current state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from jitgate.core.errors import Forbidden, NotFound
from jitgate.server.flows.approvers import (
    ApprovalContext,
    approvers_for,
    eligible_tier,
    unlocked_tiers,
)
from jitgate.server.flows.schemas import AccessFlowRead
from jitgate.server.flows.service import needs_approval
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration, Resource
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit, Approval
from jitgate.server.requests.states import Decision, RequestStatus

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.actor import Actor


@dataclass
class RequestContext:
    """A request with everything its rules look at, loaded once."""

    request: AccessRequest
    flow: AccessFlowRead
    units: list[AccessRequestUnit]
    resources: dict[str, Resource]
    approvals: list[Approval]
    people: dict[str, Identity]
    approval: ApprovalContext

    @property
    def needs_approval(self) -> bool:
        """Tell whether the snapshot flow wants approvers."""
        return needs_approval(self.flow)

    def unlocked(self, now: datetime) -> int:
        """How many escalation tiers have unlocked by ``now``."""
        return unlocked_tiers(self.flow.escalation_policy, self.request.created_at, now)

    def next_escalation_at(self, now: datetime) -> datetime | None:
        """When the next escalation tier unlocks (pending requests with tiers left)."""
        escalation = self.flow.escalation_policy
        if escalation is None or self.request.status is not RequestStatus.PENDING:
            return None
        unlocked = self.unlocked(now)
        if unlocked >= len(escalation.tiers):
            return None
        return self.request.created_at + timedelta(minutes=(unlocked + 1) * escalation.interval_min)

    def tier_of(self, identity: Identity, now: datetime) -> int | None:
        """The tier in which ``identity`` may decide now, or None."""
        policy = self.flow.approver_policy
        if policy is None or not self.needs_approval:
            return None
        escalation = self.flow.escalation_policy
        return eligible_tier(policy, escalation, self.unlocked(now), identity, self.approval)

    def approvers(self, session: Session, now: datetime) -> list[Identity]:
        """Everyone who may decide now (an O(identities) scan)."""
        policy = self.flow.approver_policy
        if policy is None or not self.needs_approval:
            return []
        candidates = session.scalars(
            select(Identity).where(Identity.account_enabled.is_(True)).order_by(Identity.upn)
        )
        escalation = self.flow.escalation_policy
        return approvers_for(policy, escalation, self.unlocked(now), candidates, self.approval)

    def approved_by(self) -> list[Identity]:
        """The people who approved so far."""
        return [
            self.people[a.approver_id] for a in self.approvals if a.decision is Decision.APPROVED
        ]

    def decided(self, identity_id: str) -> bool:
        """Tell whether this person has already decided."""
        return any(a.approver_id == identity_id for a in self.approvals)


def load_context(*, session: Session, request: AccessRequest) -> RequestContext:
    """Load a request's units, resources, integrations, approvals and people."""
    return load_contexts(session=session, requests=[request])[0]


def load_contexts(*, session: Session, requests: list[AccessRequest]) -> list[RequestContext]:
    """``load_context`` for many requests at once: five queries, whatever their number."""
    if not requests:
        return []
    ids = [r.id for r in requests]
    units: dict[str, list[AccessRequestUnit]] = defaultdict(list)
    for unit in session.scalars(
        select(AccessRequestUnit)
        .where(AccessRequestUnit.request_id.in_(ids))
        .order_by(AccessRequestUnit.id)
    ):
        units[unit.request_id].append(unit)
    every_unit = [u for batch in units.values() for u in batch]
    resource_ids = {u.resource_id for u in every_unit}
    resources = {
        r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(resource_ids)))
    }
    integration_ids = {u.integration_id for u in every_unit}
    integrations = {
        i.id: i
        for i in session.scalars(select(Integration).where(Integration.id.in_(integration_ids)))
    }
    approvals: dict[str, list[Approval]] = defaultdict(list)
    for approval in session.scalars(
        select(Approval)
        .where(Approval.request_id.in_(ids))
        .order_by(Approval.created_at, Approval.id)
    ):
        approvals[approval.request_id].append(approval)
    person_ids = {
        *(r.requester_id for r in requests),
        *(r.grantee_id for r in requests),
        *(a.approver_id for batch in approvals.values() for a in batch),
    }
    people = {p.id: p for p in session.scalars(select(Identity).where(Identity.id.in_(person_ids)))}
    return [
        _context(request, units[request.id], resources, integrations, approvals[request.id], people)
        for request in requests
    ]


def _context(  # noqa: PLR0917 - the pieces of one request's context
    request: AccessRequest,
    units: list[AccessRequestUnit],
    every_resource: dict[str, Resource],
    every_integration: dict[str, Integration],
    approvals: list[Approval],
    every_person: dict[str, Identity],
) -> RequestContext:
    resources = {u.resource_id: every_resource[u.resource_id] for u in units}
    integrations = {u.integration_id: every_integration[u.integration_id] for u in units}
    person_ids = {request.requester_id, request.grantee_id, *(a.approver_id for a in approvals)}
    people = {i: every_person[i] for i in person_ids}
    flow = AccessFlowRead.model_validate(request.flow_snapshot)
    approval = ApprovalContext(
        requester=people[request.requester_id],
        grantee=people[request.grantee_id],
        resources=[resources[u.resource_id] for u in units],
        integrations=integrations,
        exclude_self=flow.settings.requester_cannot_approve_self,
    )
    return RequestContext(request, flow, units, resources, approvals, people, approval)


def actor_identity(*, session: Session, actor: Actor) -> Identity:
    """The person behind ``actor``; system actors are refused."""
    identity = session.get(Identity, actor.identity_id) if actor.identity_id else None
    if identity is None:
        raise Forbidden("only a person can do this")
    return identity


def can_see(ctx: RequestContext, actor: Actor, identity: Identity | None, now: datetime) -> bool:
    """Requester, grantee, its approvers (deciders included), admins and auditors see a request."""
    if actor.can_read_all:
        return True
    if identity is None:
        return False
    request = ctx.request
    if identity.id in {request.requester_id, request.grantee_id} or ctx.decided(identity.id):
        return True
    return ctx.tier_of(identity, now) is not None


def ensure_visible(*, session: Session, ctx: RequestContext, actor: Actor, now: datetime) -> None:
    """Raise ``NotFound`` (as for a missing id) unless ``actor`` may see the request.

    The rule for every route with a request id: a request you may not read is 404 like one that
    does not exist; an action you may not take on a request you can read is 403.
    """
    identity = session.get(Identity, actor.identity_id) if actor.identity_id else None
    if not can_see(ctx, actor, identity, now):
        raise NotFound(f"no access request {ctx.request.id!r}")


def get_visible(
    *, session: Session, actor: Actor, request_id: str, now: datetime
) -> RequestContext:
    """Return a request the actor may see, or raise ``NotFound``."""
    request = session.get(AccessRequest, request_id)
    missing = NotFound(f"no access request {request_id!r}")
    if request is None:
        raise missing
    ctx = load_context(session=session, request=request)
    identity = session.get(Identity, actor.identity_id) if actor.identity_id else None
    if not can_see(ctx, actor, identity, now):
        raise missing
    return ctx


def list_requests(
    *,
    session: Session,
    actor: Actor,
    scope: str,
    statuses: list[RequestStatus],
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[RequestContext], int]:
    """``mine`` (requester or grantee), ``approvals`` (awaiting my decision) or ``all``."""
    query = select(AccessRequest).order_by(AccessRequest.created_at.desc(), AccessRequest.id)
    if statuses:
        query = query.where(AccessRequest.status.in_(statuses))
    if scope == "all":
        if not actor.can_read_all:
            raise Forbidden("listing all requests needs the admin or auditor role")
    elif scope == "mine":
        me = actor.identity_id or ""
        query = query.where(or_(AccessRequest.requester_id == me, AccessRequest.grantee_id == me))
    else:
        return _awaiting(session=session, actor=actor, now=now, limit=limit, offset=offset)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.limit(limit).offset(offset))
    return load_contexts(session=session, requests=list(rows)), total


def _awaiting(
    *, session: Session, actor: Actor, now: datetime, limit: int, offset: int
) -> tuple[list[RequestContext], int]:
    identity = actor_identity(session=session, actor=actor)
    pending = session.scalars(
        select(AccessRequest)
        .where(AccessRequest.status == RequestStatus.PENDING)
        .order_by(AccessRequest.created_at, AccessRequest.id)
    )
    mine = []
    for request in pending:
        ctx = load_context(session=session, request=request)
        if not ctx.decided(identity.id) and ctx.tier_of(identity, now) is not None:
            mine.append(ctx)
    return mine[offset : offset + limit], len(mine)
