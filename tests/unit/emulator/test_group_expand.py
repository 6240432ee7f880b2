"""Contract tests for ``$expand=owners|members`` on group reads (graph.md §3.1, §8; graph_expand)."""
# ruff: noqa: E501 - Graph texts stay on one line, verbatim, to grep against the sources

from __future__ import annotations

import pytest

from conftest import gid, uid

EXPAND_OWNERS = "$expand=owners($select=id,userPrincipalName)"


@pytest.fixture
def crowded(graph, state):
    """Production Access with 25 owners and 25 members (one of them a group)."""
    generated = graph.post("/_emulator/generate", json={"users": 30, "groups": 0}).status_code
    assert generated == 200
    group = gid(state, "Production Access")
    users = [u for u in state.tenant.users if u not in state.tenant.owners[group]][:25]
    for user in users[: 25 - len(state.tenant.owners[group])]:
        state.tenant.add_member(group, user, owners=True)
    for user in users[:24]:
        state.tenant.add_member(group, user)
    state.tenant.add_member(group, gid(state, "Engineering"))
    assert len(state.tenant.owners[group]) >= 25
    assert len(state.tenant.members[group]) >= 25
    return group


def test_list_expands_owners_with_nested_select(graph, state):
    response = graph.get(f"/v1.0/groups?$select=id,displayName&{EXPAND_OWNERS}")
    assert response.status_code == 200
    listed = {g["displayName"]: g for g in response.json()["value"]}
    assert len(listed) == len(state.tenant.groups)
    owners = listed["Production Access"]["owners"]
    assert owners == [
        {
            "@odata.type": "#microsoft.graph.user",
            "id": uid(state, "alex"),
            "userPrincipalName": "alex@contoso.onmicrosoft.com",
        }
    ]
    assert all("owners" in g and "members" not in g for g in listed.values())


def test_expansion_stops_at_20_without_a_next_link(graph, state, crowded):
    body = graph.get(f"/v1.0/groups/{crowded}?$expand=members").json()
    assert len(body["members"]) == 20
    assert not any(k.startswith("members@") for k in body)
    assert {m["@odata.type"] for m in body["members"]} <= {
        "#microsoft.graph.user",
        "#microsoft.graph.group",
    }
    assert body["displayName"] == "Production Access"  # default properties stay
    listed = graph.get(f"/v1.0/groups?{EXPAND_OWNERS}").json()["value"]
    owners = next(g["owners"] for g in listed if g["id"] == crowded)
    assert len(owners) == 20
    assert set(owners[0]) == {"@odata.type", "id", "userPrincipalName"}
    assert len(graph.get(f"/v1.0/groups/{crowded}/owners").json()["value"]) >= 25


def test_pages_are_capped_at_100_when_expanding(graph, state):
    demo = set(state.tenant.groups)
    assert graph.post("/_emulator/generate", json={"users": 10, "groups": 150}).status_code == 200
    url: str | None = f"/v1.0/groups?$top=999&$select=id&{EXPAND_OWNERS}"
    sizes, seen = [], []
    while url:
        body = graph.get(url).json()
        sizes.append(len(body["value"]))
        seen += [g["id"] for g in body["value"]]
        assert all(len(g["owners"]) == 1 for g in body["value"] if g["id"] not in demo)
        url = body.get("@odata.nextLink")
    assert max(sizes) == 100
    assert sorted(seen) == sorted(state.tenant.groups)
    plain = graph.get("/v1.0/groups?$top=999&$select=id").json()
    assert len(plain["value"]) == len(state.tenant.groups)  # no cap without $expand
    small = graph.get("/v1.0/groups?$top=7&$expand=owners").json()
    assert len(small["value"]) == 7


@pytest.mark.parametrize(
    ("query", "units"),
    [("", 1), ("$expand=owners", 2), (f"$select=id&{EXPAND_OWNERS}", 1), ("$select=id", 1)],
)
def test_expand_costs_one_more_resource_unit(graph, *, query, units):
    response = graph.get(f"/v1.0/groups?{query}")
    assert response.status_code == 200
    assert response.headers["x-ms-resource-unit"] == str(units)


@pytest.mark.parametrize(
    ("expand", "code", "message"),
    [
        (
            "manager",
            "BadRequest",
            "Parsing OData Select and Expand failed: Could not find a property named 'manager' on type 'microsoft.graph.group'.",
        ),
        (
            "displayName",
            "BadRequest",
            "Parsing OData Select and Expand failed: Property 'displayName' on type 'microsoft.graph.group' is not a navigation property or complex property. Only navigation properties can be expanded.",
        ),
        (
            "owners,members",
            "BadRequest",
            "The result of parsing $expand contained at least 2 items, but the maximum allowed is 1.",
        ),
        (
            "owners($filter=id eq 'x')",
            "Request_UnsupportedQuery",
            "Only $select is supported inside $expand on directory objects.",
        ),
    ],
)
@pytest.mark.parametrize("one", [False, True])
def test_expand_errors(graph, state, *, expand, code, message, one):
    path = f"/v1.0/groups/{gid(state, 'Engineering')}" if one else "/v1.0/groups"
    response = graph.get(path, params={"$expand": expand})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)


def test_expand_names_are_case_insensitive(graph, state):
    body = graph.get(f"/v1.0/groups/{gid(state, 'Production Access')}?$expand=Owners").json()
    assert [o["id"] for o in body["owners"]] == [uid(state, "alex")]
