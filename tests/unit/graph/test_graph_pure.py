"""Pure pieces: $batch payloads and chunking, cost estimates, group guards, requirements."""

from __future__ import annotations

import pytest

from jitgate.graph.batch import MAX_BATCH, BatchRequest, _chunks, build_payload
from jitgate.graph.client import estimate_cost
from jitgate.graph.errors import UnchangeableGroupError
from jitgate.graph.limiter import Priority
from jitgate.graph.operations.groups import (
    ensure_changeable,
    guid,
    membership_request,
    parse_group,
    tag_name,
    unchangeable_reason,
)
from jitgate.graph.operations.models import OWNERS_TAG, Action, Group
from jitgate.graph.operations.roles import scope_id
from jitgate.graph.operations.selfcheck import requirements
from jitgate.protocol.v1 import Permission

G = "6f1c2a8e-0000-4000-8000-000000000001"
U = "6f1c2a8e-0000-4000-8000-000000000002"


def test_payload_has_ids_headers_and_depends_on():
    reqs = [
        (0, BatchRequest("POST", f"/groups/{G}/members/$ref", body={"@odata.id": "x"})),
        (1, BatchRequest("DELETE", f"/groups/{G}/members/{U}/$ref", depends_on=0)),
        (2, BatchRequest("GET", "/users", depends_on=7)),
    ]
    payload = build_payload(reqs)["requests"]
    assert payload[0] == {
        "id": "0",
        "method": "POST",
        "url": f"/groups/{G}/members/$ref",
        "body": {"@odata.id": "x"},
        "headers": {"Content-Type": "application/json"},
    }
    assert payload[1]["dependsOn"] == ["0"]
    assert "dependsOn" not in payload[2]  # not in this batch: not sent


def test_chunks_hold_at_most_twenty_and_keep_dependencies_together():
    reqs = [BatchRequest("GET", f"/x/{i}") for i in range(45)]
    chunks = _chunks(reqs, list(range(45)))
    assert [len(c) for c in chunks] == [20, 20, 5]
    reqs[20] = BatchRequest("GET", "/dep", depends_on=19)
    chunks = _chunks(reqs, list(range(45)))
    assert all(len(c) <= MAX_BATCH for c in chunks)
    assert any(19 in c and 20 in c for c in chunks)


@pytest.mark.parametrize(
    ("method", "url", "params", "cost"),
    [
        ("GET", "/users", None, 2),
        ("GET", "/users", {"$select": "id"}, 1),
        ("GET", f"/groups/{G}/members", None, 3),
        ("GET", f"/groups/{G}/transitiveMembers", None, 5),
        ("GET", "/groups?$expand=owners", None, 2),
        ("POST", f"/groups/{G}/members/$ref", None, 1),
    ],
)
def test_cost_estimates_follow_graph_md(method, url, params, cost):
    assert estimate_cost(method, url, params) == cost


def group(**kw) -> Group:
    return parse_group({"id": G, "displayName": "Sales", "securityEnabled": True, **kw})


@pytest.mark.parametrize(
    ("props", "permission", "fragment"),
    [
        ({"groupTypes": ["DynamicMembership"]}, Permission.MEMBER, "dynamic membership"),
        ({"mailEnabled": True}, Permission.MEMBER, "mail-enabled security group"),
        ({"mailEnabled": True, "securityEnabled": False}, Permission.OWNER, "distribution list"),
        ({"onPremisesSyncEnabled": True}, Permission.OWNER, "on-premises"),
    ],
)
def test_unchangeable_groups_fail_fast_with_a_reason(props, permission, fragment):
    with pytest.raises(UnchangeableGroupError, match=fragment) as info:
        ensure_changeable(group(**props), permission)
    assert not info.value.retryable


def test_changeable_groups():
    assert unchangeable_reason(group(), Permission.MEMBER) is None
    m365 = group(groupTypes=["Unified"], mailEnabled=True)
    assert unchangeable_reason(m365, Permission.MEMBER) is None
    dynamic = group(groupTypes=["DynamicMembership"])
    assert unchangeable_reason(dynamic, Permission.OWNER) is None  # owners are not rule-based


def test_role_assignable_needs_the_role_only_when_we_know_it_is_missing():
    ra = group(isAssignableToRole=True)
    assert unchangeable_reason(ra, Permission.MEMBER) is None
    assert unchangeable_reason(ra, Permission.MEMBER, can_manage_role_assignable=True) is None
    reason = unchangeable_reason(ra, Permission.MEMBER, can_manage_role_assignable=False)
    assert reason is not None
    assert "Privileged Role Administrator" in reason


def test_tags_and_reserved_owners_tag():
    g = parse_group(
        {"id": G, "extension_abc123_costCenter": "42"},
        ["extension_abc123_costCenter"],
        ["alice@contoso.com"],
    )
    assert g.tags == {"costCenter": "42", OWNERS_TAG: ("alice@contoso.com",)}
    assert tag_name("plain") == "plain"


def test_ids_are_checked_before_they_reach_a_url():
    with pytest.raises(ValueError, match="GUID"):
        membership_request(Action.GRANT, "../../users", U, Permission.MEMBER)
    with pytest.raises(ValueError, match="GUID"):
        guid("x' or 1 eq 1")
    with pytest.raises(ValueError, match="scope"):
        scope_id("/applications/1")
    assert scope_id(f"/administrativeUnits/{G}") == f"/administrativeUnits/{G}"
    req = membership_request(Action.REVOKE, G, U, Permission.OWNER)
    assert (req.method, req.url, req.priority) == (
        "DELETE",
        f"/groups/{G}/owners/{U}/$ref",
        Priority.REVOKE,
    )


def test_requirements_follow_mode_and_types():
    direct = {
        r.message.split(" ")[0]
        for r in requirements(resource_types=["entra-group"], grant_mode="direct")
    }
    assert "GroupMember.ReadWrite.All" in direct
    assert "Privileged" in direct
    pim = [r.message for r in requirements(resource_types=["entra-role"], grant_mode="pim")]
    assert any("RoleAssignmentSchedule.ReadWrite.Directory" in m for m in pim)
