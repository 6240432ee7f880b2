"""Pure approver evaluation: who may decide a request, and when a policy is satisfied. No I/O.

Tier 0 is the flow's approver policy; tier k (1-based) is the k-th escalation tier, unlocked
``k * interval_min`` after the request was submitted. Any unlocked tier, under the policy's
approval mode, can satisfy the request on its own; earlier tiers keep the right to act.

A resource owner must own every resource in the request (an owner of one group never approves
access to another); a resource with no owner falls back to its integration's owners. With
``requester_cannot_approve_self`` the requester and the grantee are never eligible and their
approvals never count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jitgate.server.flows.evaluate import group_keys, identity_keys
from jitgate.server.flows.schemas import (
    ApprovalMode,
    Approver,
    ApproverGroup,
    ApproverPolicy,
    ApproverType,
    EscalationPolicy,
    LogicalOperator,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from jitgate.server.identities.models import Identity
    from jitgate.server.integrations.models import Integration, Resource

_USER_ATTRIBUTES = {"user.upn", "user.mail", "user.id"}


@dataclass(frozen=True)
class ApprovalContext:
    """What approver rules look at: the people, resources and integrations of one request."""

    requester: Identity
    grantee: Identity
    resources: list[Resource]
    integrations: dict[str, Integration] = field(default_factory=dict)
    exclude_self: bool = True

    def excluded(self, candidate: Identity) -> bool:
        """Tell whether ``candidate`` is barred as the requester or the grantee."""
        return self.exclude_self and candidate.id in {self.requester.id, self.grantee.id}


def is_integration_owner(candidate: Identity, integration: Integration | None) -> bool:
    """Tell whether ``candidate`` is one of the integration's owners (users or groups)."""
    if integration is None:
        return False
    for owner in integration.owners or []:
        values = {str(v).lower() for v in owner.get("values", [])}
        keys = (
            group_keys(candidate) if owner.get("attribute") == "group" else identity_keys(candidate)
        )
        if keys & values:
            return True
    return False


def resource_owner_refs(
    resource: Resource, integration: Integration | None
) -> tuple[set[str], set[str]]:
    """The owner references of a resource: (person refs, group refs), lower-cased."""
    people = {str(o).lower() for o in resource.owners or []}
    groups: set[str] = set()
    if integration is not None and integration.resource_owner_key:
        tag = (resource.tags or {}).get(integration.resource_owner_key)
        if tag:
            attribute = integration.resource_owner_attribute or "user.upn"
            (people if attribute in _USER_ATTRIBUTES else groups).add(str(tag).lower())
    return people, groups


def owns_resource(candidate: Identity, resource: Resource, integration: Integration | None) -> bool:
    """Tell whether ``candidate`` owns ``resource`` (or, if it has no owner, its integration)."""
    people, groups = resource_owner_refs(resource, integration)
    if not people and not groups:
        return is_integration_owner(candidate, integration)
    return bool(identity_keys(candidate) & people or group_keys(candidate) & groups)


def approver_matches(approver: Approver, candidate: Identity, ctx: ApprovalContext) -> bool:
    """Tell whether one approver entry names ``candidate`` for this request."""
    values = {v.lower() for v in approver.values}
    if approver.type is ApproverType.USER:
        return bool(identity_keys(candidate) & values)
    if approver.type is ApproverType.GROUP:
        return bool(group_keys(candidate) & values)
    if approver.type is ApproverType.MANAGER:
        return ctx.grantee.manager_id is not None and ctx.grantee.manager_id == candidate.id
    if approver.type is ApproverType.RESOURCE_OWNER:
        return bool(ctx.resources) and all(
            owns_resource(candidate, r, ctx.integrations.get(r.integration_id))
            for r in ctx.resources
        )
    return bool(ctx.integrations) and all(
        is_integration_owner(candidate, i) for i in ctx.integrations.values()
    )


def in_group(group: ApproverGroup, candidate: Identity, ctx: ApprovalContext) -> bool:
    """Tell whether ``candidate`` belongs to an approver group for this request."""
    if ctx.excluded(candidate):
        return False
    results = (approver_matches(a, candidate, ctx) for a in group.approvers)
    return all(results) if group.logical_operator is LogicalOperator.AND else any(results)


def tiers(policy: ApproverPolicy, escalation: EscalationPolicy | None) -> list[list[ApproverGroup]]:
    """Tier 0 (the policy's groups) followed by the escalation tiers."""
    return [policy.approver_groups, *(escalation.tiers if escalation else [])]


def unlocked_tiers(
    escalation: EscalationPolicy | None, submitted_at: datetime, now: datetime
) -> int:
    """How many escalation tiers have unlocked by ``now``."""
    if escalation is None:
        return 0
    waited_min = (now - submitted_at).total_seconds() // 60
    return min(len(escalation.tiers), int(waited_min // escalation.interval_min))


def eligible_tier(
    policy: ApproverPolicy,
    escalation: EscalationPolicy | None,
    unlocked: int,
    candidate: Identity,
    ctx: ApprovalContext,
) -> int | None:
    """The first unlocked tier in which ``candidate`` may decide, or None."""
    for index, groups in enumerate(tiers(policy, escalation)[: unlocked + 1]):
        if any(in_group(g, candidate, ctx) for g in groups):
            return index
    return None


def approvers_for(
    policy: ApproverPolicy,
    escalation: EscalationPolicy | None,
    unlocked: int,
    candidates: Iterable[Identity],
    ctx: ApprovalContext,
) -> list[Identity]:
    """The candidates who may decide the request now."""
    return [
        c for c in candidates if eligible_tier(policy, escalation, unlocked, c, ctx) is not None
    ]


def _tier_satisfied(
    groups: list[ApproverGroup], mode: ApprovalMode, approvers: list[Identity], ctx: ApprovalContext
) -> bool:
    met = (sum(1 for a in approvers if in_group(g, a, ctx)) >= g.min_approvals for g in groups)
    return all(met) if mode is ApprovalMode.ALL_OF else any(met)


def policy_satisfied(
    policy: ApproverPolicy | None,
    escalation: EscalationPolicy | None,
    unlocked: int,
    approvers: Iterable[Identity],
    ctx: ApprovalContext,
) -> bool:
    """Tell whether the people who approved satisfy the policy (or an unlocked tier)."""
    if policy is None:
        return True
    people = list({a.id: a for a in approvers}.values())
    return any(
        _tier_satisfied(groups, policy.approval_mode, people, ctx)
        for groups in tiers(policy, escalation)[: unlocked + 1]
    )
