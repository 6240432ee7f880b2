"""Contract tests: sign-in errors (§1.2), $batch (§6), throttling (§8), PIM (§5), delta (§7), knobs."""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from conftest import gid, token_for, uid
from jitgate.emulator import graph_apps

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def token_error(client, path_tenant, **form):
    response = client.post(f"/{path_tenant}/oauth2/v2.0/token", data=form)
    body = response.json()
    return (
        response.status_code,
        body["error"],
        body["error_codes"][0],
        body["error_description"].split("\r\n")[0],
    )


@pytest.mark.parametrize(
    ("case", "status", "error", "code", "text"),
    [
        (
            "wrong_secret",
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app}'.",
        ),
        (
            "unknown_client",
            400,
            "unauthorized_client",
            700016,
            "Application with identifier '00000000-0000-0000-0000-00000000abcd' was not found in the directory '{tid}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        ),
        (
            "unknown_tenant",
            400,
            "invalid_tenant",
            90002,
            "Tenant 'nowhere.onmicrosoft.com' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
        ),
        (
            "bad_tenant",
            400,
            "invalid_request",
            900023,
            "Specified tenant identifier 'not_a_tenant' is neither a valid DNS name, nor a valid external domain.",
        ),
        (
            "no_credential",
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ),
        (
            "no_scope",
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        ),
        (
            "scope_not_default",
            400,
            "invalid_scope",
            1002012,
            "The provided value for scope https://graph.microsoft.com/User.Read is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        ),
        (
            "unknown_resource",
            400,
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid. The scope https://vault.azure.net/.default is not valid.",
        ),
        (
            "wrong_grant",
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type 'password'.",
        ),
    ],
)
def test_token_endpoint_errors(client, state, *, case, status, error, code, text):
    tid, app = state.tenant.tenant_id, state.client_id
    form = {
        "grant_type": "client_credentials",
        "client_id": app,
        "client_secret": state.client_secret,
        "scope": GRAPH_SCOPE,
    }
    segment = tid
    if case == "wrong_secret":
        form["client_secret"] = "nope"
    elif case == "unknown_client":
        form["client_id"] = "00000000-0000-0000-0000-00000000abcd"
    elif case == "unknown_tenant":
        segment = "nowhere.onmicrosoft.com"
    elif case == "bad_tenant":
        segment = "not_a_tenant"
    elif case == "no_credential":
        del form["client_secret"]
    elif case == "no_scope":
        del form["scope"]
    elif case == "scope_not_default":
        form["scope"] = "https://graph.microsoft.com/User.Read"
    elif case == "unknown_resource":
        form["scope"] = "https://vault.azure.net/.default"
    elif case == "wrong_grant":
        form["grant_type"] = "password"
    got = token_error(client, segment, **form)
    assert got == (status, error, code, f"AADSTS{code}: " + text.format(app=app, tid=tid))


def test_error_body_shape_and_basic_auth(client, state):
    response = client.post(
        f"/{state.tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": state.client_id,
            "client_secret": "x",
            "scope": GRAPH_SCOPE,
        },
    )
    body = response.json()
    assert set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    }
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=7000215"
    assert "\r\nTrace ID: " in body["error_description"]
    basic = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
    ok = client.post(
        f"/{state.tenant.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert ok.status_code == 200
    assert ok.headers["cache-control"] == "no-store, no-cache"
    assert "refresh_token" not in ok.json()


def test_expired_secret_and_disabled_app(client, state, clock):
    app = state.tenant.applications[state.tenant.app_by_appid[state.client_id]]
    now = state.tenant.now()
    graph_apps.add_secret(
        state.tenant, app, display_name="old", start=now - 100, end=now - 10, text="expired-secret"
    )
    assert token_error(
        client,
        state.tenant.tenant_id,
        grant_type="client_credentials",
        client_id=state.client_id,
        client_secret="expired-secret",
        scope=GRAPH_SCOPE,
    )[:3] == (401, "invalid_client", 7000222)
    state.tenant.service_principals[state.tenant.sp_by_appid[state.client_id]]["accountEnabled"] = (
        False
    )
    got = token_error(
        client,
        state.tenant.tenant_id,
        grant_type="client_credentials",
        client_id=state.client_id,
        client_secret=state.client_secret,
        scope=GRAPH_SCOPE,
    )
    assert got == (
        400,
        "unauthorized_client",
        7000112,
        "AADSTS7000112: The application is disabled.",
    )


def test_discovery_documents(client, state):
    doc = client.get(f"/{state.tenant.tenant_id}/v2.0/.well-known/openid-configuration")
    assert doc.headers["cache-control"] == "max-age=86400, private"
    body = doc.json()
    assert (
        body["token_endpoint"]
        == f"https://emulator.test/{state.tenant.tenant_id}/oauth2/v2.0/token"
    )
    assert body["issuer"] == f"https://emulator.test/{state.tenant.tenant_id}/v2.0"
    assert (
        client.get("/common/v2.0/.well-known/openid-configuration").json()["issuer"]
        == "https://emulator.test/{tenantid}/v2.0"
    )
    keys = client.get(f"/{state.tenant.tenant_id}/discovery/v2.0/keys").json()["keys"]
    assert keys[0]["kid"] == state.tokens.key.kid
    missing = client.get("/contoso.example.org/v2.0/.well-known/openid-configuration")
    assert (missing.status_code, missing.json()["error_codes"]) == (400, [90002])
    instance = client.get(
        "/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"https://emulator.test/{state.tenant.tenant_id}/oauth2/v2.0/authorize",
        },
    )
    assert instance.json()["tenant_discovery_endpoint"].endswith(
        f"/{state.tenant.tenant_id}/v2.0/.well-known/openid-configuration"
    )


def batch_add(group, users, depends=False):
    requests = []
    for index, user in enumerate(users):
        item = {
            "id": str(index + 1),
            "method": "POST",
            "url": f"/groups/{group}/members/$ref",
            "headers": {"Content-Type": "application/json"},
            "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user}"},
        }
        if depends and index:
            item["dependsOn"] = [str(index)]
        requests.append(item)
    return {"requests": requests}


def test_batch_statuses_and_depends_on(graph, state):
    group = gid(state, "Production Access")
    users = [
        uid(state, "diego"),
        uid(state, "lee"),
        uid(state, "grady"),
    ]  # diego is already a member
    body = graph.post("/v1.0/$batch", json=batch_add(group, users, depends=True))
    assert body.status_code == 200
    statuses = {r["id"]: r["status"] for r in body.json()["responses"]}
    assert statuses == {"1": 400, "2": 424, "3": 424}
    parallel = graph.post("/v1.0/$batch", json=batch_add(group, users)).json()["responses"]
    assert sorted(r["status"] for r in parallel) == [204, 204, 400]
    assert (
        next(r for r in parallel if r["status"] == 400)["body"]["error"]["code"]
        == "Request_BadRequest"
    )
    too_many = graph.post(
        "/v1.0/$batch",
        json={"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]},
    )
    assert too_many.status_code == 400
    mixed = graph.post(
        "/v1.0/$batch",
        json={
            "requests": [
                {"id": "a", "method": "GET", "url": "/users?$top=1"},
                {"id": "b", "method": "PUT", "url": "/users"},
            ]
        },
    ).json()["responses"]
    assert {r["id"]: r["status"] for r in mixed} == {"a": 200, "b": 405}


def test_write_budget_429_and_a_client_that_honours_retry_after_never_fails(graph, state, clock):
    state.settings.update({"write_budget": 5, "write_window_s": 10.0})
    group = gid(state, "Production Access")
    users = [u for u in state.tenant.users if u not in state.tenant.members[group]]
    throttled = 0
    for user in users:
        for _ in range(10):
            response = graph.post(
                f"/v1.0/groups/{group}/members/$ref",
                json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{user}"},
            )
            if response.status_code != 429:
                break
            throttled += 1
            error = response.json()["error"]
            assert error["code"] == "TooManyRequests"
            assert response.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
            assert response.headers["x-ms-throttle-scope"].startswith("Tenant_Application/Write/")
            clock.advance(timedelta(seconds=float(response.headers["Retry-After"])))
        assert response.status_code == 204
    assert throttled > 0
    assert set(users) <= set(state.tenant.members[group])


def test_inner_batch_429_carries_retry_after(graph, state):
    state.settings.update({"write_budget": 3})
    group = gid(state, "Production Access")
    users = [u for u in state.tenant.users if u not in state.tenant.members[group]][:6]
    responses = graph.post("/v1.0/$batch", json=batch_add(group, users)).json()["responses"]
    throttled = [r for r in responses if r["status"] == 429]
    assert len(throttled) == 3
    assert all(float(r["headers"]["Retry-After"]) > 0 for r in throttled)


def test_resource_unit_budget_and_percentage_header(graph, state):
    state.settings.update({"resource_units": 10})
    statuses = [graph.get("/v1.0/users").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    state.settings.update({"resource_units": 11})
    state.throttler.reset()  # a new budget keeps the share left (empty here): start full
    first = graph.get("/v1.0/groups")
    assert "x-ms-throttle-limit-percentage" not in first.headers
    for _ in range(8):
        last = graph.get("/v1.0/groups")
    assert float(last.headers["x-ms-throttle-limit-percentage"]) >= 0.8


def test_pim_group_assignment_expires_with_the_clock(graph, state, clock):
    group = gid(state, "Database Admins")
    lee = uid(state, "lee")
    body = {
        "accessId": "member",
        "principalId": lee,
        "groupId": group,
        "action": "adminAssign",
        "justification": "on call",
        "scheduleInfo": {
            "startDateTime": "2020-01-01T00:00:00Z",
            "expiration": {"type": "AfterDuration", "duration": "PT2H"},
        },
    }
    created = graph.post(
        "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests", json=body
    )
    assert created.status_code == 201
    assert created.json()["status"] == "Provisioned"
    assert created.json()["targetScheduleId"].startswith(f"{group}_member_")
    assert lee in state.tenant.members[group]
    again = graph.post(
        "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests", json=body
    )
    assert (again.status_code, again.json()["error"]["code"], again.json()["error"]["message"]) == (
        400,
        "RoleAssignmentExists",
        "The Role assignment already exists.",
    )
    instances = graph.get(
        f"/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances?$filter=groupId eq '{group}'"
    ).json()["value"]
    assert [i["principalId"] for i in instances] == [lee]
    assert (
        graph.get(
            "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances"
        ).status_code
        == 400
    )
    clock.advance(timedelta(hours=2, seconds=1))
    graph.headers["Authorization"] = "Bearer " + token_for(graph, state)
    assert (
        graph.get(
            f"/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleInstances?$filter=groupId eq '{group}'"
        ).json()["value"]
        == []
    )
    assert lee not in {m["id"] for m in graph.get(f"/v1.0/groups/{group}/members").json()["value"]}


def test_pim_group_policy_requires_expiry(graph, state):
    body = {
        "accessId": "member",
        "principalId": uid(state, "lee"),
        "groupId": gid(state, "Database Admins"),
        "action": "adminAssign",
        "scheduleInfo": {"expiration": {"type": "NoExpiration"}},
    }
    response = graph.post(
        "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests", json=body
    )
    assert (
        response.status_code,
        response.json()["error"]["code"],
        response.json()["error"]["message"],
    ) == (
        400,
        "RoleAssignmentRequestPolicyValidationFailed",
        'The following policy rules failed: ["ExpirationRule"]',
    )


def test_pim_role_assignment_lifecycle(graph, state, clock):
    lee = uid(state, "lee")
    helpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
    base = "/v1.0/roleManagement/directory"
    body = {
        "action": "adminAssign",
        "principalId": lee,
        "roleDefinitionId": helpdesk,
        "directoryScopeId": "/",
        "justification": "ticket",
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "PT1H"}},
    }
    created = graph.post(f"{base}/roleAssignmentScheduleRequests", json=body)
    assert created.status_code == 201
    assert created.json()["status"] == "Provisioned"
    listed = graph.get(f"{base}/roleAssignments?$filter=principalId eq '{lee}'").json()["value"]
    assert [a["roleDefinitionId"] for a in listed] == [helpdesk]
    instances = graph.get(
        f"{base}/roleAssignmentScheduleInstances?$filter=principalId eq '{lee}'"
    ).json()["value"]
    assert instances[0]["endDateTime"] is not None
    future = {
        **body,
        "principalId": uid(state, "grady"),
        "scheduleInfo": {
            "startDateTime": "2030-01-01T00:00:00Z",
            "expiration": {"type": "afterDuration", "duration": "PT1H"},
        },
    }
    granted = graph.post(f"{base}/roleAssignmentScheduleRequests", json=future).json()
    assert granted["status"] == "Granted"
    assert (
        graph.post(f"{base}/roleAssignmentScheduleRequests/{granted['id']}/cancel").status_code
        == 204
    )
    refused = graph.post(f"{base}/roleAssignmentScheduleRequests/{created.json()['id']}/cancel")
    assert (
        refused.status_code,
        refused.json()["error"]["code"],
        refused.json()["error"]["message"],
    ) == (400, "RequestCannotBeCancelled", "Request is not in cancellable state.")
    state.settings.validate_token_lifetime = False
    clock.advance(timedelta(hours=1, seconds=1))
    assert graph.get(f"{base}/roleAssignments?$filter=principalId eq '{lee}'").json()["value"] == []
    removed = graph.post(
        f"{base}/roleAssignmentScheduleRequests", json={**body, "action": "adminRemove"}
    )
    assert (removed.status_code, removed.json()["error"]["code"]) == (
        400,
        "RoleAssignmentDoesNotExist",
    )


def test_direct_role_assignments_at_tenant_and_au_scope(graph, state):
    base = "/v1.0/roleManagement/directory/roleAssignments"
    unit = next(iter(state.tenant.admin_units))
    body = {
        "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
        "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "principalId": uid(state, "lee"),
        "directoryScopeId": f"/administrativeUnits/{unit}",
    }
    created = graph.post(base, json=body)
    assert created.status_code == 201
    assert created.json()["directoryScopeId"] == f"/administrativeUnits/{unit}"
    duplicate = graph.post(base, json=body)
    assert (
        duplicate.json()["error"]["message"]
        == "A conflicting object with one or more of the specified property values is present in the directory."
    )
    plain_group = graph.post(
        base, json={**body, "principalId": gid(state, "Production Access"), "directoryScopeId": "/"}
    )
    assert plain_group.status_code == 400
    assert graph.delete(f"{base}/{created.json()['id']}").status_code == 204
    roles = graph.get("/v1.0/directoryRoles").json()["value"]
    assert "Global Administrator" in {r["displayName"] for r in roles}
    members = graph.get(
        "/v1.0/directoryRoles/roleTemplateId=62e90394-69f5-4237-9190-012177145e10/members"
    ).json()["value"]
    assert [m["id"] for m in members] == [uid(state, "megan")]


def test_group_delta_reports_adds_and_removes(graph, state):
    first = graph.get("/v1.0/groups/delta?$select=displayName,members").json()
    link = first.get("@odata.nextLink")
    while link:
        page = graph.get(link).json()
        link = page.get("@odata.nextLink")
        first = page
    delta_link = first["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link
    group = gid(state, "Production Access")
    graph.post(
        f"/v1.0/groups/{group}/members/$ref",
        json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{uid(state, 'lee')}"},
    )
    graph.delete(f"/v1.0/groups/{group}/members/{uid(state, 'diego')}/$ref")
    changes = graph.get(delta_link).json()
    entry = next(v for v in changes["value"] if v["id"] == group)
    refs = {m["id"]: m.get("@removed") for m in entry["members@delta"]}
    assert refs == {uid(state, "lee"): None, uid(state, "diego"): {"reason": "deleted"}}
    latest = graph.get("/v1.0/users/delta?$deltatoken=latest").json()
    assert latest["value"] == []
    assert "@odata.deltaLink" in latest


def test_faults_by_count_and_replication_lag(graph, state):
    state.settings.update(
        {"faults": [{"route": "GET /v1.0/users", "status": 503, "count": 2, "retry_after": 1}]}
    )
    assert [graph.get("/v1.0/users").status_code for _ in range(3)] == [503, 503, 200]
    state.settings.update({"faults": [], "replication_lag_ms": 5000})
    created = graph.post(
        "/v1.0/groups",
        json={
            "displayName": "New",
            "mailEnabled": False,
            "mailNickname": "new",
            "securityEnabled": True,
        },
    )
    assert created.status_code == 201
    assert graph.get(f"/v1.0/groups/{created.json()['id']}").status_code == 404


def test_admin_api(client, state, clock):
    assert client.get("/_emulator/health").json() == {"ok": True}
    assert client.patch("/_emulator/settings", json={"tier": "L"}).json()["tier"] == "L"
    before = clock.now()
    after = client.post("/_emulator/clock/advance", json={"duration": "PT1H"}).json()["now"]
    assert after == (before + timedelta(hours=1)).isoformat()
    exported = client.get("/_emulator/state").json()
    assert len(exported["users"]) == 11
    seeded = client.post("/_emulator/generate", json={"users": 50, "groups": 5}).json()
    assert seeded == {"users": 61, "groups": 14}
    assert client.patch("/_emulator/settings", json={"nonsense": 1}).status_code == 400


def test_applications_and_invitations(graph, state):
    state.tenant.app_permissions[state.tenant.sp_by_appid[state.client_id]] += [
        "Application.ReadWrite.All",
        "User.Invite.All",
    ]
    graph.headers["Authorization"] = "Bearer " + token_for(graph, state)
    app = next(iter(state.tenant.applications))
    added = graph.post(
        f"/v1.0/applications/{app}/addPassword",
        json={"passwordCredential": {"displayName": "rotated"}},
    ).json()
    assert added["secretText"]
    assert (
        graph.get(f"/v1.0/applications/{app}").json()["passwordCredentials"][-1]["secretText"]
        is None
    )
    assert (
        graph.post(
            f"/v1.0/applications/{app}/removePassword", json={"keyId": added["keyId"]}
        ).status_code
        == 204
    )
    invited = graph.post(
        "/v1.0/invitations",
        json={
            "invitedUserEmailAddress": "guest@fabrikam.com",
            "inviteRedirectUrl": "https://myapps.microsoft.com",
        },
    )
    assert invited.status_code == 201
    guest = graph.get(
        f"/v1.0/users/{invited.json()['invitedUser']['id']}?$select=userType,userPrincipalName"
    ).json()
    assert guest["userType"] == "Guest"
    assert guest["userPrincipalName"] == "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com"


def test_admin_api_lists_the_membership_writes_that_changed_something(client, graph, state):
    group = gid(state, "Production Access")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{uid(state, 'lee')}"}
    before = len(client.get("/_emulator/writes").json()["writes"])
    assert graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref).status_code == 204
    assert graph.post(f"/v1.0/groups/{group}/members/$ref", json=ref).status_code == 400
    assert graph.delete(f"/v1.0/groups/{group}/members/{uid(state, 'lee')}/$ref").status_code == 204
    writes = client.get("/_emulator/writes").json()["writes"]
    assert [op for _, op in writes[before:]] == ["add", "remove"]
    assert writes[before][0] <= writes[before + 1][0]
