"""Judging a request before anything is written: its units, the flow that applies, and why not.

``judge_request`` is shared by ``submit_request`` (which raises the first problem) and
``dry_run_request`` (which reports them all), so both always give the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.errors import Conflict, Forbidden, JitgateError, NotFound, ValidationFailed
from jitgate.server.catalog.registry import ENTRA_ROLE, get_integration_type
from jitgate.server.flows.approvers import ApprovalContext, approvers_for
from jitgate.server.flows.evaluate import (
    describe_window,
    matches_requestor,
    target_covers,
    within_window,
)
from jitgate.server.flows.models import AccessFlow
from jitgate.server.flows.schemas import ROLE_SCOPE_PATTERN, AccessFlowRead, RequestScope
from jitgate.server.flows.service import list_flows, manager_of, needs_approval
from jitgate.server.identities.models import Identity
from jitgate.server.identities.service import find_identity
from jitgate.server.integrations.models import Integration, Resource
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit
from jitgate.server.requests.schemas import MAX_START_AHEAD_DAYS
from jitgate.server.requests.states import LIVE, RequestStatus

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.server.actor import Actor
    from jitgate.server.requests.schemas import RequestCreate

MFA_VALIDITY = timedelta(hours=1)
OPEN = frozenset({RequestStatus.PENDING, *LIVE})


@dataclass(frozen=True)
class UnitSpec:
    """One resource x permission x scope asked for."""

    resource: Resource
    integration: Integration
    permission: str
    scope: str

    def label(self) -> str:
        """A readable form, for messages."""
        at = f" at {self.scope}" if self.resource.type == ENTRA_ROLE.id else ""
        return f"{self.permission} on {self.resource.name} ({self.resource.type}){at}"


@dataclass
class Judgement:
    """The outcome of judging a request (the reconciler's ``plan`` plans Graph writes)."""

    requester: Identity
    grantee: Identity
    units: list[UnitSpec]
    verdicts: list[tuple[AccessFlowRead, list[str]]]
    flow: AccessFlowRead | None = None
    duration_min: int | None = None
    problems: list[JitgateError] = field(default_factory=list)

    def not_eligible(self) -> Forbidden:
        """The error naming why no flow applies."""
        if not self.verdicts:
            return Forbidden("no access flow available to you allows this request")
        errors = [
            {"field": f"flow {f.name!r}", "message": reason}
            for f, reasons in self.verdicts
            for reason in reasons
        ]
        why = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        return Forbidden(f"no access flow allows this request ({why})", errors=errors)


def _resolve_resource(session: Session, resource_id: str) -> tuple[Resource, Integration]:
    resource = session.get(Resource, resource_id)
    integration = session.get(Integration, resource.integration_id) if resource else None
    if resource is None or resource.removed_at is not None or integration is None:
        raise ValidationFailed.field("resource_ids", f"no resource {resource_id!r}")
    if integration.deleted_at is not None:
        raise ValidationFailed.field("resource_ids", f"{resource.name!r}: integration deleted")
    return resource, integration


def resolve_units(*, session: Session, data: RequestCreate) -> list[UnitSpec]:
    """Expand resources x permissions (x scopes, for roles) into checked units."""
    units: dict[tuple[str, str, str], UnitSpec] = {}
    for resource_id in dict.fromkeys(data.resource_ids):
        resource, integration = _resolve_resource(session, resource_id)
        spec = get_integration_type(integration.type).resource_type(resource.type)
        allowed = spec.permission_ids() if spec else ()
        is_role = resource.type == ENTRA_ROLE.id
        for permission in dict.fromkeys(data.permissions):
            if permission not in allowed:
                message = f"{permission!r} cannot be granted on {resource.type} {resource.name!r}"
                raise ValidationFailed.field("permissions", message)
            for scope in dict.fromkeys(data.scopes if is_role else ["/"]):
                if not re.match(ROLE_SCOPE_PATTERN, scope):
                    raise ValidationFailed.field("scopes", f"{scope!r} is not a role scope")
                key = (resource.id, permission, scope)
                units[key] = UnitSpec(resource, integration, permission, scope)
    return list(units.values())


def _request_for_reasons(
    flow: AccessFlowRead, requester: Identity, grantee: Identity, manager: Identity | None
) -> list[str]:
    scopes = set(flow.request_for.scopes)
    if grantee.id == requester.id:
        return [] if RequestScope.SELF in scopes else ["it does not allow requests for yourself"]
    direct = grantee.manager_id == requester.id
    if not (RequestScope.OTHERS in scopes or (direct and RequestScope.DIRECT_REPORTS in scopes)):
        whom = "your direct reports" if RequestScope.DIRECT_REPORTS in scopes else "others"
        return [f"it does not allow requests for {grantee.upn} (only for yourself or {whom})"]
    conditions = flow.request_for.grantees
    if conditions is not None and not matches_requestor(grantee, conditions, manager):
        return [f"{grantee.upn} does not meet its grantee conditions"]
    return []


def flow_reasons(
    session: Session, flow: AccessFlowRead, requester: Identity, grantee: Identity, active: bool
) -> list[str]:
    """Why ``flow`` cannot be used for this request (empty: it can)."""
    reasons = [] if active else ["it is inactive"]
    if not matches_requestor(requester, flow.requestors, manager_of(session, requester)):
        reasons.append(f"{requester.upn} does not meet its requestor conditions")
    reasons += _request_for_reasons(flow, requester, grantee, manager_of(session, grantee))
    return reasons


def coverage_reasons(flow: AccessFlowRead, units: list[UnitSpec]) -> list[str]:
    """The units no target of ``flow`` covers."""
    return [
        f"no target covers {u.label()}"
        for u in units
        if not any(target_covers(t, u.resource, u.permission, u.scope) for t in flow.targets)
    ]


def _candidate_flows(session: Session, flow_id: str | None) -> list[AccessFlow]:
    if flow_id is not None:
        flow = session.get(AccessFlow, flow_id)
        if flow is None:
            raise NotFound(f"no access flow {flow_id!r}")
        return [flow]
    flows = list_flows(session=session, active=True)
    return sorted(flows, key=lambda f: (needs_approval(AccessFlowRead.model_validate(f)), f.name))


def _people(session: Session, actor: Actor, data: RequestCreate) -> tuple[Identity, Identity]:
    requester = session.get(Identity, actor.identity_id) if actor.identity_id else None
    if requester is None:
        raise Forbidden("only a person can request access")
    if data.grantee is None:
        return requester, requester
    grantee = find_identity(session=session, ref=data.grantee)
    if grantee is None or not grantee.account_enabled:
        raise ValidationFailed.field("grantee", f"no enabled person {data.grantee!r}")
    return requester, grantee


def judge_request(
    *, session: Session, actor: Actor, data: RequestCreate, now: datetime
) -> Judgement:
    """Judge a request: choose its flow and list every problem with submitting it now."""
    requester, grantee = _people(session, actor, data)
    units = resolve_units(session=session, data=data)
    judgement = Judgement(requester=requester, grantee=grantee, units=units, verdicts=[])
    for row in _candidate_flows(session, data.flow_id):
        flow = AccessFlowRead.model_validate(row)
        if not actor.can_read_all and not matches_requestor(
            requester, flow.requestors, manager_of(session, requester)
        ):
            # A flow whose requestor conditions exclude the requester is not theirs to see:
            # its name and rules stay out of every answer (admins and auditors read all flows).
            if data.flow_id is not None:
                raise NotFound(f"no access flow {data.flow_id!r}")
            continue
        reasons = flow_reasons(session, flow, requester, grantee, row.active)
        reasons += coverage_reasons(flow, units)
        judgement.verdicts.append((flow, reasons))
        if not reasons and judgement.flow is None:
            judgement.flow = flow
    if judgement.flow is not None:
        judgement.duration_min, judgement.problems = _checks(
            session=session,
            judgement=judgement,
            flow=judgement.flow,
            actor=actor,
            data=data,
            now=now,
        )
    return judgement


def _duration(flow: AccessFlowRead, data: RequestCreate) -> tuple[int | None, list[JitgateError]]:
    duration = data.duration_min or flow.default_duration_min or flow.max_duration_min
    limit = flow.max_duration_min
    if duration is not None and limit is not None and duration > limit:
        message = f"at most {limit} minutes under flow {flow.name!r}"
        return duration, [ValidationFailed.field("duration_min", message)]
    return duration, []


def _start_problems(data: RequestCreate, now: datetime) -> list[JitgateError]:
    if data.starts_at is None:
        return []
    if data.starts_at < now:
        return [ValidationFailed.field("starts_at", "must not be in the past")]
    if data.starts_at - now > timedelta(days=MAX_START_AHEAD_DAYS):
        message = f"at most {MAX_START_AHEAD_DAYS} days ahead"
        return [ValidationFailed.field("starts_at", message)]
    return []


def _checks(
    *,
    session: Session,
    judgement: Judgement,
    flow: AccessFlowRead,
    actor: Actor,
    data: RequestCreate,
    now: datetime,
) -> tuple[int | None, list[JitgateError]]:
    problems: list[JitgateError] = []
    if not within_window(flow.timeframe, now):
        window = describe_window(flow.timeframe) if flow.timeframe else ""
        problems.append(Forbidden(f"flow {flow.name!r} can be used only {window}; not now"))
    if flow.settings.justification_required and not (data.justification or "").strip():
        problems.append(ValidationFailed.field("justification", "the flow requires a reason"))
    problems += _start_problems(data, now)
    duration, duration_problems = _duration(flow, data)
    problems += duration_problems
    if flow.settings.mfa_required and (actor.mfa_at is None or now - actor.mfa_at > MFA_VALIDITY):
        problems.append(
            Forbidden(
                "this flow requires MFA within the last hour; API tokens carry no MFA, so sign "
                "in to the portal with MFA and request again"
            )
        )
    problems += _duplicates(session, judgement.grantee, judgement.units)
    return duration, problems


def _duplicates(session: Session, grantee: Identity, units: list[UnitSpec]) -> list[JitgateError]:
    rows = session.execute(
        select(AccessRequest.id, AccessRequestUnit.resource_id, AccessRequestUnit.permission)
        .join(AccessRequestUnit, AccessRequestUnit.request_id == AccessRequest.id)
        .where(
            AccessRequest.grantee_id == grantee.id,
            AccessRequest.status.in_(OPEN),
            AccessRequestUnit.resource_id.in_({u.resource.id for u in units}),
        )
        .add_columns(AccessRequestUnit.scope)
    ).all()
    taken = {(r.resource_id, r.permission, r.scope): r.id for r in rows}
    return [
        Conflict(f"{grantee.upn} already has an open request for {u.label()} ({request_id})")
        for u in units
        if (request_id := taken.get((u.resource.id, u.permission, u.scope)))
    ]


def approvers_for_judgement(session: Session, judgement: Judgement) -> list[Identity]:
    """Who could approve the planned request as soon as it is submitted."""
    flow = judgement.flow
    if flow is None or flow.approver_policy is None or not needs_approval(flow):
        return []
    ctx = ApprovalContext(
        requester=judgement.requester,
        grantee=judgement.grantee,
        resources=[u.resource for u in judgement.units],
        integrations={u.integration.id: u.integration for u in judgement.units},
        exclude_self=flow.settings.requester_cannot_approve_self,
    )
    candidates = session.scalars(
        select(Identity).where(Identity.account_enabled.is_(True)).order_by(Identity.upn)
    )
    return approvers_for(flow.approver_policy, flow.escalation_policy, 0, candidates, ctx)
