"""Contract tests for ``$expand=manager`` on user reads and ``manager@delta`` (graph_expand)."""
# ruff: noqa: E501 - Graph texts stay on one line, verbatim, to grep against the sources

from __future__ import annotations

from conftest import token_for, uid

EXPAND = "$expand=manager($select=id)"


def test_list_expands_the_manager_with_nested_select(graph, state):
    response = graph.get(f"/v1.0/users?$select=id,userPrincipalName&{EXPAND}")
    assert response.status_code == 200
    listed = {u["userPrincipalName"].split("@")[0]: u for u in response.json()["value"]}
    assert len(listed) == len(state.tenant.users)
    assert listed["grady"]["manager"] == {
        "@odata.type": "#microsoft.graph.user",
        "id": uid(state, "alex"),
    }
    assert "manager" not in listed["megan"]  # the top of the tree has none
    assert set(listed["grady"]) == {"id", "userPrincipalName", "manager"}


def test_single_user_expands_the_manager_with_default_properties(graph, state):
    body = graph.get(f"/v1.0/users/{uid(state, 'diego')}?$expand=manager").json()
    assert body["manager"]["id"] == uid(state, "alex")
    assert body["manager"]["userPrincipalName"] == "alex@contoso.onmicrosoft.com"
    assert body["displayName"] == "Diego Siciliani"


def test_pages_are_capped_at_100_when_expanding_the_manager(graph, state):
    assert graph.post("/_emulator/generate", json={"users": 150, "groups": 0}).status_code == 200
    body = graph.get(f"/v1.0/users?$top=999&$select=id&{EXPAND}").json()
    assert len(body["value"]) == 100
    assert "@odata.nextLink" in body
    second = graph.get(body["@odata.nextLink"]).json()
    assert len(body["value"]) + len(second["value"]) == len(state.tenant.users)
    assert len(graph.get("/v1.0/users?$top=999&$select=id").json()["value"]) == len(
        state.tenant.users
    )


def test_expand_errors_name_the_user_type(graph, state):
    response = graph.get("/v1.0/users", params={"$expand": "owners"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Parsing OData Select and Expand failed: Could not find a property named 'owners' on type 'microsoft.graph.user'."
    )
    two = graph.get(f"/v1.0/users/{uid(state, 'grady')}", params={"$expand": "manager,memberOf"})
    assert two.status_code == 400


def test_users_delta_tracks_the_manager_when_selected(graph, state):
    first = graph.get("/v1.0/users/delta?$select=id,displayName,manager").json()
    while "@odata.nextLink" in first:
        first = graph.get(first["@odata.nextLink"]).json()
    link = first["@odata.deltaLink"]
    grady, megan = uid(state, "grady"), uid(state, "megan")
    with state.tenant.lock:  # another admin moves Grady under Megan and clears Lee's manager
        state.tenant.managers[grady] = megan
        state.tenant.touch("user", grady)
        del state.tenant.managers[uid(state, "lee")]
        state.tenant.touch("user", uid(state, "lee"))
    changed = {u["id"]: u for u in graph.get(link).json()["value"]}
    assert changed[grady]["manager@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": megan}
    ]
    assert changed[uid(state, "lee")]["manager@delta"] == []
    assert "manager" not in changed[grady]
    assert graph.get(f"/v1.0/users/{grady}/manager").json()["id"] == megan


def test_manager_writes_need_user_write(graph, state):
    grady, megan = uid(state, "grady"), uid(state, "megan")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{megan}"}
    assert graph.put(f"/v1.0/users/{grady}/manager/$ref", json=ref).status_code == 403
    state.tenant.app_permissions[state.tenant.sp_by_appid[state.client_id]].append(
        "User.ReadWrite.All"
    )
    graph.headers["Authorization"] = f"Bearer {token_for(graph, state)}"  # roles are in the token
    assert graph.put(f"/v1.0/users/{grady}/manager/$ref", json=ref).status_code == 204
    assert graph.get(f"/v1.0/users/{grady}/manager").json()["id"] == megan
    assert graph.delete(f"/v1.0/users/{grady}/manager/$ref").status_code == 204
    assert graph.get(f"/v1.0/users/{grady}/manager").status_code == 404
