from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jitgate.server.flows.approvers import (
    ApprovalContext,
    approvers_for,
    eligible_tier,
    policy_satisfied,
    unlocked_tiers,
)
from jitgate.server.flows.schemas import ApproverPolicy, EscalationPolicy
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration, Resource


def person(name, *, groups=(), manager_id=None):
    upn = f"{name}@contoso.example"
    return Identity(
        id=name,
        upn=upn,
        mail=upn,
        display_name=name,
        groups=[{"id": f"id-{g}", "name": g} for g in groups],
        manager_id=manager_id,
    )


ALICE = person("alice", manager_id="boss")
BOSS = person("boss")
SAM = person("sam", groups=["Security"])
SUE = person("sue", groups=["Security"])
OWEN = person("owen")
IVY = person("ivy", groups=["Platform"])
NOBODY = person("nobody")
EVERYONE = [ALICE, BOSS, SAM, SUE, OWEN, IVY, NOBODY]

INTEGRATION = Integration(
    id="i1",
    name="Contoso",
    owners=[{"attribute": "group", "values": ["Platform"]}],
    resource_owner_key="owner",
    resource_owner_attribute="user.upn",
)


def ctx(*resources, exclude_self=True, requester=ALICE):
    return ApprovalContext(
        requester=requester,
        grantee=ALICE,
        resources=list(resources),
        integrations={"i1": INTEGRATION},
        exclude_self=exclude_self,
    )


def res(name, *, owners=(), tags=None):
    return Resource(
        id=name,
        integration_id="i1",
        type="entra-group",
        external_id=name,
        name=name,
        owners=list(owners),
        tags=tags or {},
    )


FINANCE = res("Finance", owners=["owen@contoso.example"])
TAGGED = res("Tagged", tags={"owner": "owen@contoso.example"})
ORPHAN = res("Orphan")


def policy(mode, *groups):
    return ApproverPolicy.model_validate({"approval_mode": mode, "approver_groups": list(groups)})


def group(*approvers, n=1, op="OR"):
    return {"logical_operator": op, "approvers": list(approvers), "min_approvals": n}


SECURITY = {"type": "group", "values": ["Security"]}
MANAGER = {"type": "manager"}


def test_any_of_one_group_suffices():
    p = policy("ANY_OF", group(SECURITY), group(MANAGER))
    assert policy_satisfied(p, None, 0, [BOSS], ctx(FINANCE))
    assert policy_satisfied(p, None, 0, [SAM], ctx(FINANCE))
    assert not policy_satisfied(p, None, 0, [NOBODY], ctx(FINANCE))


def test_all_of_needs_every_group():
    p = policy("ALL_OF", group(SECURITY), group(MANAGER))
    assert not policy_satisfied(p, None, 0, [BOSS], ctx(FINANCE))
    assert policy_satisfied(p, None, 0, [BOSS, SAM], ctx(FINANCE))


def test_quorum_counts_distinct_members():
    p = policy("ANY_OF", group(SECURITY, n=2))
    assert not policy_satisfied(p, None, 0, [SAM, SAM], ctx(FINANCE))
    assert policy_satisfied(p, None, 0, [SAM, SUE], ctx(FINANCE))


def test_and_group_needs_every_entry():
    p = policy(
        "ANY_OF", group(SECURITY, {"type": "user", "values": ["sue@contoso.example"]}, op="AND")
    )
    assert approvers_for(p, None, 0, EVERYONE, ctx(FINANCE)) == [SUE]


def test_resource_owner_from_owners_and_mapping_tag_and_fallback():
    p = policy("ANY_OF", group({"type": "resource_owner"}))
    assert approvers_for(p, None, 0, EVERYONE, ctx(FINANCE)) == [OWEN]
    assert approvers_for(p, None, 0, EVERYONE, ctx(TAGGED)) == [OWEN]
    # An owner of one resource never approves another; an unowned one falls back to the
    # integration's owners.
    assert approvers_for(p, None, 0, EVERYONE, ctx(FINANCE, ORPHAN)) == []
    assert approvers_for(p, None, 0, EVERYONE, ctx(ORPHAN)) == [IVY]


def test_integration_owner():
    p = policy("ANY_OF", group({"type": "integration_owner"}))
    assert approvers_for(p, None, 0, EVERYONE, ctx(FINANCE)) == [IVY]


def test_requester_and_grantee_excluded_unless_allowed():
    p = policy("ANY_OF", group({"type": "user", "values": ["alice@contoso.example"]}))
    assert approvers_for(p, None, 0, EVERYONE, ctx(FINANCE)) == []
    assert not policy_satisfied(p, None, 0, [ALICE], ctx(FINANCE))
    assert approvers_for(p, None, 0, EVERYONE, ctx(FINANCE, exclude_self=False)) == [ALICE]


def test_escalation_tiers_unlock_by_interval_and_keep_earlier_rights():
    p = policy("ANY_OF", group(MANAGER))
    esc = EscalationPolicy.model_validate(
        {"interval_min": 30, "tiers": [[group(SECURITY)], [group({"type": "integration_owner"})]]}
    )
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert unlocked_tiers(esc, start, start + timedelta(minutes=29)) == 0
    assert unlocked_tiers(esc, start, start + timedelta(minutes=30)) == 1
    assert unlocked_tiers(esc, start, start + timedelta(days=1)) == 2
    c = ctx(FINANCE)
    assert eligible_tier(p, esc, 0, SAM, c) is None
    assert eligible_tier(p, esc, 1, SAM, c) == 1
    assert eligible_tier(p, esc, 1, BOSS, c) == 0
    assert not policy_satisfied(p, esc, 0, [SAM], c)
    assert policy_satisfied(p, esc, 1, [SAM], c)
    assert eligible_tier(p, esc, 2, IVY, c) == 2


def test_no_policy_is_satisfied():
    assert policy_satisfied(None, None, 0, [], ctx(FINANCE))
