"""Building the API view of a request (the access session a requester sees) and dry runs."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.server.flows.service import needs_approval
from jitgate.server.grants.models import Grant
from jitgate.server.grants.operations import request_grants
from jitgate.server.grants.schemas import GrantRead
from jitgate.server.requests.judging import approvers_for_judgement, judge_request
from jitgate.server.requests.schemas import (
    AccessDetails,
    AccessRequestRead,
    ApprovalRead,
    DryRunRead,
    ExtendOptions,
    FlowVerdict,
    PersonRead,
    UnitRead,
)
from jitgate.server.requests.service import load_context
from jitgate.server.requests.states import RequestStatus

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.actor import Actor
    from jitgate.server.integrations.models import Integration
    from jitgate.server.requests.models import AccessRequest
    from jitgate.server.requests.schemas import RequestCreate
    from jitgate.server.requests.service import RequestContext


def _units(ctx: RequestContext) -> list[UnitRead]:
    integrations = ctx.approval.integrations
    return [
        UnitRead(
            id=u.id,
            integration_id=u.integration_id,
            integration_name=integrations[u.integration_id].name,
            resource_id=u.resource_id,
            resource_name=ctx.resources[u.resource_id].name,
            resource_type=ctx.resources[u.resource_id].type,
            permission=u.permission,
            scope=u.scope,
        )
        for u in ctx.units
    ]


def _extend_options(ctx: RequestContext, grants: list[Grant]) -> ExtendOptions:
    settings = ctx.flow.settings
    remaining = max(0, settings.max_extensions - ctx.request.extension_count)
    live = any(g.ended_at is None and g.ends_at is not None for g in grants)
    can = (
        remaining > 0
        and live
        and ctx.request.status in {RequestStatus.APPROVED, RequestStatus.ACTIVE}
    )
    return ExtendOptions(
        can_extend=can,
        remaining_extensions=remaining,
        extension_duration_min=settings.extension_duration_min,
    )


def _details(integrations: dict[str, Integration]) -> list[AccessDetails]:
    return [
        AccessDetails(
            integration_id=i.id,
            integration_name=i.name,
            custom_access_details=i.custom_access_details,
        )
        for i in sorted(integrations.values(), key=lambda i: i.name)
    ]


def read_requests(
    *, session: Session, contexts: list[RequestContext], now: datetime
) -> list[AccessRequestRead]:
    """The API view of many requests, their grants read in one query."""
    grants: dict[str, list[Grant]] = defaultdict(list)
    ids = [c.request.id for c in contexts]
    for grant in session.scalars(select(Grant).where(Grant.request_id.in_(ids)).order_by(Grant.id)):
        grants[grant.request_id].append(grant)
    return [
        read_request(session=session, ctx=c, now=now, grants=grants[c.request.id]) for c in contexts
    ]


def read_request(
    *, session: Session, ctx: RequestContext, now: datetime, grants: list[Grant] | None = None
) -> AccessRequestRead:
    """The full API view of one request (``grants``: already read, in id order)."""
    request = ctx.request
    if grants is None:
        grants = request_grants(session, request.id)
    pending = request.status is RequestStatus.PENDING
    ends = [g.ends_at for g in grants if g.ends_at is not None]
    policy = ctx.flow.approver_policy
    return AccessRequestRead(
        id=request.id,
        status=request.status,
        requester=PersonRead.model_validate(ctx.approval.requester),
        grantee=PersonRead.model_validate(ctx.approval.grantee),
        flow_id=request.flow_id,
        flow_name=request.flow_name,
        justification=request.justification,
        duration_min=request.duration_min,
        starts_at=request.starts_at,
        ends_at=max(ends) if ends else None,
        extension_count=request.extension_count,
        end_reason=request.end_reason,
        created_at=request.created_at,
        updated_at=request.updated_at,
        decided_at=request.decided_at,
        needs_approval=ctx.needs_approval,
        approval_mode=policy.approval_mode if policy and ctx.needs_approval else None,
        units=_units(ctx),
        approvals=[
            ApprovalRead(
                approver=PersonRead.model_validate(ctx.people[a.approver_id]),
                decision=a.decision,
                reason=a.reason,
                tier=a.tier,
                created_at=a.created_at,
            )
            for a in ctx.approvals
        ],
        eligible_approvers=[
            PersonRead.model_validate(p) for p in (ctx.approvers(session, now) if pending else [])
        ],
        next_escalation_at=ctx.next_escalation_at(now),
        grants=[GrantRead.model_validate(g) for g in grants],
        access_details=_details(ctx.approval.integrations),
        extend_options=_extend_options(ctx, grants),
    )


def read_request_row(
    *, session: Session, request: AccessRequest, now: datetime
) -> AccessRequestRead:
    """The API view of a request just changed."""
    return read_request(
        session=session, ctx=load_context(session=session, request=request), now=now
    )


def dry_run_request(
    *, session: Session, actor: Actor, data: RequestCreate, now: datetime
) -> DryRunRead:
    """Judge a request without writing anything: the flow, approvers, limits, or why not."""
    judgement = judge_request(session=session, actor=actor, data=data, now=now)
    verdicts = [
        FlowVerdict(flow_id=f.id, flow_name=f.name, eligible=not reasons, reasons=reasons)
        for f, reasons in judgement.verdicts
    ]
    flow = judgement.flow
    if flow is None:
        return DryRunRead(
            eligible=False,
            flow_id=None,
            flow_name=None,
            needs_approval=None,
            approvers=[],
            default_duration_min=None,
            max_duration_min=None,
            duration_min=None,
            required_fields=[],
            problems=[judgement.not_eligible().detail],
            flows_considered=verdicts,
        )
    required = ["justification"] if flow.settings.justification_required else []
    return DryRunRead(
        eligible=not judgement.problems,
        flow_id=flow.id,
        flow_name=flow.name,
        needs_approval=needs_approval(flow),
        approvers=[
            PersonRead.model_validate(p) for p in approvers_for_judgement(session, judgement)
        ],
        default_duration_min=flow.default_duration_min,
        max_duration_min=flow.max_duration_min,
        duration_min=judgement.duration_min,
        required_fields=required,
        problems=[p.detail for p in judgement.problems],
        flows_considered=verdicts,
    )
