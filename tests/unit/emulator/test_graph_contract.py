"""Contract tests for Graph reads, membership writes, errors and paging (graph.md §2, §3, §9)."""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import gid, token_for, uid

NOT_FOUND = "Resource '{0}' does not exist or one of its queried reference-property objects are not present."
DENIED = "Insufficient privileges to complete the operation."
ODATA_CT = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


def ref(object_id):
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"}


def test_headers_and_default_properties(graph):
    response = graph.get(
        "/v1.0/users/megan@contoso.onmicrosoft.com", headers={"client-request-id": "abc"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == ODATA_CT
    assert response.headers["client-request-id"] == "abc"
    assert len(response.headers["request-id"]) == 36
    assert response.headers["x-ms-resource-unit"] == "2"
    body = response.json()
    assert body["@odata.context"] == "https://emulator.test/v1.0/$metadata#users/$entity"
    assert body["displayName"] == "Megan Bowen"
    assert "accountEnabled" not in body


def test_paging_next_link_is_absolute_and_complete(graph, state):
    seen, url, pages = [], "/v1.0/users?$top=4&$select=id,displayName", 0
    while url:
        body = graph.get(url).json()
        seen.extend(u["id"] for u in body["value"])
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith("https://emulator.test/v1.0/users?")
            assert "$select=id,displayName" in url
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(state.tenant.users)


@pytest.mark.parametrize(
    ("url", "headers", "status", "code", "message"),
    [
        (
            "/v1.0/users?$filter=endsWith(mail,'contoso.com')",
            {},
            400,
            "Request_UnsupportedQuery",
            "Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information",
        ),
        (
            '/v1.0/users?$search="displayName:ad"',
            {},
            400,
            "Request_UnsupportedQuery",
            "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
        ),
        (
            "/v1.0/users/$count",  # the segment; ?$count=true alone is ignored (test below)
            {},
            400,
            "Request_BadRequest",
            "$count is not currently supported.",
        ),
        (
            "/v1.0/users/nobody@contoso.onmicrosoft.com",
            {},
            404,
            "Request_ResourceNotFound",
            NOT_FOUND.format("nobody@contoso.onmicrosoft.com"),
        ),
        (
            "/v1.0/groups/not-a-guid",
            {},
            400,
            "Request_BadRequest",
            "Invalid object identifier 'not-a-guid'.",
        ),
        (
            "/v1.0/groups/00000000-0000-0000-0000-000000000001",
            {},
            404,
            "Request_ResourceNotFound",
            NOT_FOUND.format("00000000-0000-0000-0000-000000000001"),
        ),
        (
            "/v1.0/nonsense/x",
            {},
            400,
            "BadRequest",
            "Resource not found for the segment 'nonsense'.",
        ),
        (
            "/v1.0/directoryRoles?$top=5",
            {},
            400,
            "Request_UnsupportedQuery",
            "This resource does not support custom page sizes. Please retry without a page size argument.",
        ),
        (
            "/v1.0/users?$top=1000",
            {},
            400,
            "Request_BadRequest",
            "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
        ),
        (
            "/v1.0/users?$select=skills",
            {},
            501,
            "NotImplemented",
            "This operation target is not yet supported.",
        ),
    ],
)
def test_documented_query_errors(graph, *, url, headers, status, code, message):
    response = graph.get(url, headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (code, message)
    assert set(error["innerError"]) >= {"date", "request-id"}


def test_wrong_method_is_405(graph):
    response = graph.put("/v1.0/users")
    assert response.status_code == 405
    assert response.json()["error"] == {
        **response.json()["error"],
        "code": "Request_BadRequest",
        "message": "Specified HTTP method is not allowed for the request target.",
    }


def test_advanced_queries_search_and_count(graph):
    eventual = {"ConsistencyLevel": "eventual"}
    body = graph.get(
        "/v1.0/users?$filter=endsWith(mail,'contoso.onmicrosoft.com')&$count=true", headers=eventual
    ).json()
    assert body["@odata.count"] == 11
    body = graph.get('/v1.0/users?$search="displayName:adele"', headers=eventual).json()
    assert [u["displayName"] for u in body["value"]] == ["Adele Vance"]
    count = graph.get("/v1.0/groups/$count", headers=eventual)
    assert count.text == "9"
    assert count.headers["content-type"].startswith("text/plain")
    unified = graph.get("/v1.0/groups?$filter=groupTypes/any(c:c eq 'Unified')").json()["value"]
    assert [g["displayName"] for g in unified] == ["Engineering"]
    both = graph.get(
        "/v1.0/users?$filter=startswith(displayName,'a') and accountEnabled eq true"
    ).json()["value"]
    assert {u["displayName"] for u in both} == {"Adele Vance", "Alex Wilber"}
    some = graph.get(
        "/v1.0/users?$filter=userPrincipalName in ('lee@contoso.onmicrosoft.com','LYNNE@contoso.onmicrosoft.com')"
    ).json()["value"]
    assert len(some) == 2


def test_add_and_remove_member(graph, state):
    group = gid(state, "Production Access")
    grady = uid(state, "grady")
    assert graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref(grady)).status_code == 204
    members = graph.get(f"/v1.0/groups/{group}/members").json()
    assert members["@odata.context"].endswith("#directoryObjects")
    assert {"@odata.type": "#microsoft.graph.user", "id": grady}.items() <= next(
        m for m in members["value"] if m["id"] == grady
    ).items()
    again = graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref(grady))
    assert again.status_code == 400
    assert (
        again.json()["error"]["message"]
        == "One or more added object references already exist for the following modified properties: 'members'."
    )
    assert graph.delete(f"/v1.0/groups/{group}/members/{grady}/$ref").status_code == 204
    gone = graph.delete(f"/v1.0/groups/{group}/members/{grady}/$ref")
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == NOT_FOUND.format(group)


@pytest.mark.parametrize(
    ("group", "status", "code", "message"),
    [
        ("All Employees (dynamic)", 403, "Authorization_RequestDenied", DENIED),
        ("Finance Distribution List", 403, "Authorization_RequestDenied", DENIED),
        ("IT Mail-enabled Security", 403, "Authorization_RequestDenied", DENIED),
        (
            "VPN Users (synced)",
            400,
            "Request_BadRequest",
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        ),
    ],
)
def test_protected_groups_refuse_membership_writes(graph, state, *, group, status, code, message):
    before = dict(state.tenant.members[gid(state, group)])
    response = graph.post(
        f"/v1.0/groups/{gid(state, group)}/members/$ref", json=ref(uid(state, "megan"))
    )
    assert response.status_code == status
    assert (response.json()["error"]["code"], response.json()["error"]["message"]) == (
        code,
        message,
    )
    removal = graph.delete(f"/v1.0/groups/{gid(state, group)}/members/{next(iter(before))}/$ref")
    assert removal.status_code == status
    assert state.tenant.members[gid(state, group)] == before


def test_member_errors(graph, state):
    group = gid(state, "Production Access")
    missing = "11111111-2222-3333-4444-555555555555"
    response = graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref(missing))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == NOT_FOUND.format(missing)
    response = graph.post(f"/v1.0/groups/{missing}/members/$ref", json=ref(uid(state, "lee")))
    assert response.json()["error"]["message"] == NOT_FOUND.format(missing)
    response = graph.post(
        f"/v1.0/groups/{group}/members/$ref",
        json={"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/xyz"},
    )
    assert (response.status_code, response.json()["error"]["message"]) == (
        400,
        "Invalid object identifier 'xyz'.",
    )


def test_role_assignable_group_needs_role_management(readonly, graph, state):
    group = gid(state, "Security Admins (role-assignable)")
    denied = readonly.post(f"/v1.0/groups/{group}/members/$ref", json=ref(uid(state, "lee")))
    assert (denied.status_code, denied.json()["error"]["code"]) == (
        403,
        "Authorization_RequestDenied",
    )
    assert (
        graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref(uid(state, "lee"))).status_code
        == 204
    )


def test_sp_role_requirement_is_switchable(graph, state):
    state.settings.require_sp_role_for_role_assignable = True
    group = gid(state, "Security Admins (role-assignable)")
    assert (
        graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref(uid(state, "lee"))).status_code
        == 204
    )
    pra = "e8611ab8-c189-46e8-94e1-60213ab1f814"
    sp = state.tenant.sp_by_appid[state.client_id]
    assignment = state.tenant.find_role_assignment(sp, pra, "/")
    state.tenant.remove_role_assignment(assignment["id"])
    denied = graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref(uid(state, "grady")))
    assert denied.status_code == 403


def test_bind_is_all_or_nothing_and_capped(graph, state):
    group = gid(state, "Database Admins")
    ids = [uid(state, "lee"), uid(state, "grady")]  # grady is already a member
    response = graph.patch(
        f"/v1.0/groups/{group}", json={"members@odata.bind": [ref(i)["@odata.id"] for i in ids]}
    )
    assert response.status_code == 400
    assert uid(state, "lee") not in state.tenant.members[group]
    too_many = graph.patch(
        f"/v1.0/groups/{group}",
        json={"members@odata.bind": [ref(uid(state, "lee"))["@odata.id"]] * 21},
    )
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (400, "Request_BadRequest")
    ok = graph.patch(
        f"/v1.0/groups/{group}", json={"members@odata.bind": [ref(uid(state, "lee"))["@odata.id"]]}
    )
    assert ok.status_code == 204
    assert uid(state, "lee") in state.tenant.members[group]


def test_missing_permission_is_403(readonly, state):
    response = readonly.post(
        f"/v1.0/groups/{gid(state, 'Production Access')}/members/$ref", json=ref(uid(state, "lee"))
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == DENIED
    assert readonly.get("/v1.0/roleManagement/directory/roleDefinitions").status_code == 403


def test_delete_without_ref_deletes_the_member_object(graph, state):
    group = gid(state, "Production Access")
    diego = uid(state, "diego")
    assert (
        graph.delete(f"/v1.0/groups/{group}/members/{diego}").status_code == 403
    )  # no User.ReadWrite.All
    state.tenant.app_permissions[state.tenant.sp_by_appid[state.client_id]].append(
        "User.ReadWrite.All"
    )
    # a new token carries the new permission
    graph.headers["Authorization"] = f"Bearer {token_for(graph, state)}"
    assert graph.delete(f"/v1.0/groups/{group}/members/{diego}").status_code == 204
    assert graph.get(f"/v1.0/users/{diego}").status_code == 404


def test_transitive_membership_and_checks(graph, state):
    outer = gid(state, "Finance Readers")
    inner = gid(state, "Database Admins")
    assert graph.post(f"/v1.0/groups/{outer}/members/$ref", json=ref(inner)).status_code == 204
    grady = uid(state, "grady")
    transitive = graph.get(f"/v1.0/groups/{outer}/transitiveMembers").json()["value"]
    assert grady in {m["id"] for m in transitive}
    assert graph.get(f"/v1.0/groups/{outer}/transitiveMembers").headers["x-ms-resource-unit"] == "5"
    check = graph.post(
        f"/v1.0/users/{grady}/checkMemberGroups",
        json={"groupIds": [outer, gid(state, "Engineering"), gid(state, "Production Access")]},
    )
    assert sorted(check.json()["value"]) == sorted([outer, gid(state, "Engineering")])
    member_of = graph.get(f"/v1.0/users/{grady}/memberOf").json()["value"]
    assert {m["@odata.type"] for m in member_of} >= {
        "#microsoft.graph.group",
        "#microsoft.graph.administrativeUnit",
    }
    users_only = graph.get(f"/v1.0/groups/{outer}/members/microsoft.graph.user").json()["value"]
    assert inner not in {m["id"] for m in users_only}


def test_token_errors(client):
    empty = client.get("/v1.0/users")
    assert (empty.status_code, empty.json()["error"]["code"], empty.json()["error"]["message"]) == (
        401,
        "InvalidAuthenticationToken",
        "Access token is empty.",
    )


def test_expired_token(graph, clock):
    clock.advance(timedelta(hours=2))
    response = graph.get("/v1.0/users")
    assert (response.status_code, response.json()["error"]["message"]) == (
        401,
        "Lifetime validation failed, the token is expired.",
    )


def test_count_parameter_without_the_header_is_ignored(graph):
    """Graph ignores ``$count=true`` without ``ConsistencyLevel: eventual``: 200, no count."""
    plain = graph.get("/v1.0/users?$count=true")
    assert plain.status_code == 200
    assert "@odata.count" not in plain.json()
    assert plain.json()["value"]
    counted = graph.get("/v1.0/users?$count=true", headers={"ConsistencyLevel": "eventual"})
    assert counted.json()["@odata.count"] >= len(counted.json()["value"])
    groups = graph.get("/v1.0/groups?$count=true")
    assert groups.status_code == 200
    assert "@odata.count" not in groups.json()


def test_a_groups_last_owner_cannot_be_removed(graph, state):
    group = gid(state, "Engineering")
    (alex,) = state.tenant.owners[group]
    last = graph.delete(f"/v1.0/groups/{group}/owners/{alex}/$ref")
    assert last.status_code == 400
    error = last.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert error["message"] == (
        "The group must have at least one owner, hence this owner cannot be removed."
    )
    assert alex in state.tenant.owners[group]
    lee = uid(state, "lee")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{lee}"}
    assert graph.post(f"/v1.0/groups/{group}/owners/$ref", json=ref).status_code == 204
    assert graph.delete(f"/v1.0/groups/{group}/owners/{alex}/$ref").status_code == 204
    assert graph.delete(f"/v1.0/groups/{group}/owners/{lee}/$ref").status_code == 400
