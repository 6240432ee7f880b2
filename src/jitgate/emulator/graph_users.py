"""Users, directory objects, service principals and membership checks (graph.md §2, §3.1).

Reads honour replication lag through ``Call.cutoff``: an object created within the lag window
reads back 404 and is missing from lists.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.emulator import graph_manager
from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import (
    Call,
    Listing,
    check_guid,
    count_response,
    get_object,
    get_user_obj,
    list_page,
    render,
    select_list,
)
from jitgate.emulator.graph_expand import EXPAND_PAGE_SIZE, add_manager, parse_expand
from jitgate.emulator.http import (
    GraphError,
    Response,
    bad_request,
    empty_response,
    json_response,
    not_found,
)
from jitgate.emulator.store import iso

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj

USERS = Listing(
    kind="user",
    resource="User",
    filterable={
        "id",
        "userPrincipalName",
        "mail",
        "accountEnabled",
        "displayName",
        "givenName",
        "surname",
        "userType",
        "jobTitle",
        "department",
        "onPremisesSyncEnabled",
        "employeeId",
        "createdDateTime",
        "mailNickname",
        "otherMails",
        "proxyAddresses",
        "companyName",
        "officeLocation",
        "creationType",
        "externalUserState",
    },
    searchable=frozenset(
        {
            "displayName",
            "description",
            "mail",
            "userPrincipalName",
            "givenName",
            "surname",
            "mailNickname",
        }
    ),
)
SPS = Listing(
    kind="servicePrincipal",
    resource="ServicePrincipal",
    filterable={"id", "appId", "displayName", "servicePrincipalType", "accountEnabled"},
)
DIRECTORY_OBJECTS = Listing(kind="directoryObject", resource="DirectoryObject", typed=True)
MAX_CHECK_IDS = 20


def visible_users(call: Call) -> Iterable[Obj]:
    """Return the users reads can see (all of them unless replication lag hides new ones)."""
    if call.cutoff is None:
        return call.tenant.users.values()
    created = call.tenant.created_at
    cutoff = call.cutoff
    return [u for u in call.tenant.users.values() if created.get(u["id"], 0.0) <= cutoff]


def list_users(call: Call) -> Response:
    """GET /users (``$expand=manager``: pages of ≤ 100; graph_expand)."""
    call.require(p.USER_READ)
    expansion = parse_expand(call, "user")
    if expansion is None:
        return list_page(call, USERS, visible_users(call), "users")

    def extend(user: Obj, item: Obj) -> None:
        add_manager(call, expansion, user, item)

    return list_page(
        call, USERS, visible_users(call), "users", max_top=EXPAND_PAGE_SIZE, extend=extend
    )


def count_users(call: Call) -> Response:
    """GET /users/$count."""
    call.require(p.USER_READ)
    return count_response(call, USERS, visible_users(call))


def get_user(call: Call) -> Response:
    """GET /users/{id | userPrincipalName} (``$expand=manager``; graph_expand)."""
    call.require(p.USER_READ)
    expansion = parse_expand(call, "user")
    user = get_user_obj(call, call.params["id"])
    select = select_list(call, "user", collection=False)
    payload = {"@odata.context": call.context("users/$entity"), **render(user, "user", select)}
    if expansion is not None:
        add_manager(call, expansion, user, payload)
    return json_response(200, payload)


def get_me(call: Call) -> Response:
    """GET /me (delegated tokens only)."""
    if call.caller_id not in call.tenant.users:
        raise bad_request(
            "/me request is only valid with delegated authentication flow.", "BadRequest"
        )
    call.params["id"] = call.caller_id
    user = get_user_obj(call, call.caller_id)
    payload = {
        "@odata.context": call.context("users/$entity"),
        **render(user, "user", select_list(call, "user", collection=False)),
    }
    return json_response(200, payload)


def create_user(call: Call) -> Response:
    """POST /users."""
    call.require(p.USER_WRITE)
    body = call.body()
    for name in ("displayName", "userPrincipalName", "mailNickname", "accountEnabled"):
        if name not in body:
            raise bad_request(f"Invalid value specified for property '{name}' of resource 'User'.")
    tenant = call.tenant
    if body["userPrincipalName"].lower() in tenant.upn_index:
        raise bad_request(
            "Another object with the same value for property userPrincipalName already exists."
        )
    user = new_user(call, body)
    password = (body.get("passwordProfile") or {}).get("password")
    if password:
        tenant.passwords[user["id"]] = password
    tenant.add_object("user", user)
    payload = {"@odata.context": call.context("users/$entity"), **render(user, "user", None)}
    return json_response(201, payload)


def new_user(call: Call, body: dict[str, Any]) -> Obj:
    """Return a user object with Graph's defaults filled in."""
    user: Obj = {
        "id": str(uuid.uuid4()),
        "businessPhones": [],
        "givenName": None,
        "surname": None,
        "jobTitle": None,
        "mail": None,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "accountEnabled": True,
        "userType": "Member",
        "onPremisesSyncEnabled": None,
        "createdDateTime": iso(call.now),
        "department": None,
    }
    user.update({k: v for k, v in body.items() if k != "passwordProfile"})
    return user


def update_user(call: Call) -> Response:
    """PATCH /users/{id}."""
    call.require(p.USER_WRITE)
    user = get_user_obj(call, call.params["id"])
    if user.get("onPremisesSyncEnabled"):
        raise bad_request(
            "Unable to update the specified properties for on-premises mastered Directory Sync "
            "objects or objects currently undergoing migration."
        )
    body = call.body()
    user.update({k: v for k, v in body.items() if k not in {"id", "passwordProfile"}})
    call.tenant.touch("user", user["id"])
    return empty_response()


def delete_user(call: Call) -> Response:
    """DELETE /users/{id}: 204, or 404 when no such user (Request_ResourceNotFound)."""
    call.require(p.USER_DELETE)
    user = get_user_obj(call, call.params["id"])
    call.tenant.delete_object(user["id"])
    return empty_response()


def _memberships(call: Call, object_id: str, *, transitive: bool) -> list[Obj]:
    tenant = call.tenant
    group_ids = (
        tenant.transitive_groups(object_id)
        if transitive
        else tenant.member_of.get(object_id, set())
    )
    out: list[Obj] = [tenant.groups[g] for g in group_ids if g in tenant.groups]
    out.extend(tenant.admin_units[a] for a in tenant.au_of.get(object_id, ()))
    held = (
        tenant.roles_of(object_id)
        if transitive
        else {
            tenant.role_assignments[a]["roleDefinitionId"]
            for a in tenant.ra_by_principal.get(object_id, ())
            if tenant.role_assignments[a]["directoryScopeId"] == "/"
        }
    )
    out.extend(r for r in tenant.directory_roles.values() if r["roleTemplateId"] in held)
    return out


def member_of(call: Call) -> Response:
    """GET /{users|groups|servicePrincipals|directoryObjects}/{id}/memberOf and transitiveMemberOf."""
    call.require(p.GROUP_READ)
    _, obj = _principal(call)
    transitive = call.req.path.endswith("transitiveMemberOf")
    items = _memberships(call, obj["id"], transitive=transitive)
    return list_page(
        call, DIRECTORY_OBJECTS, items, "directoryObjects", lambda o: call.tenant.kinds[o["id"]]
    )


def _principal(call: Call) -> tuple[str, Obj]:
    if call.req.path.startswith("/v1.0/me/"):
        call.params["id"] = call.caller_id
    ident = call.params["id"]
    if call.req.path.startswith("/v1.0/users/"):
        return "user", get_user_obj(call, ident)
    return get_object(call, check_guid(ident))


def check_member_groups(call: Call) -> Response:
    """POST .../{id}/checkMemberGroups: which of ``groupIds`` the object belongs to (transitive)."""
    call.require(p.GROUP_READ)
    if call.req.path.startswith("/v1.0/users/"):
        call.require(p.USER_READ)
    _, obj = _principal(call)
    ids = call.body().get("groupIds")
    if not isinstance(ids, list):
        raise bad_request("Invalid request body: 'groupIds' is missing.", "BadRequest")
    if len(ids) > MAX_CHECK_IDS:
        raise bad_request("The number of groupIds cannot exceed 20.")
    wanted = {check_guid(str(i)) for i in ids}
    found = sorted(wanted & call.tenant.transitive_groups(obj["id"]))
    return json_response(
        200, {"@odata.context": call.context("Collection(Edm.String)"), "value": found}
    )


def get_member_groups(call: Call) -> Response:
    """POST .../{id}/getMemberGroups (transitive group ids, capped at 11,000)."""
    call.require(p.GROUP_READ)
    _, obj = _principal(call)
    security_only = bool(call.body().get("securityEnabledOnly"))
    ids = [
        g
        for g in call.tenant.transitive_groups(obj["id"])
        if not security_only or call.tenant.groups[g].get("securityEnabled")
    ][:11000]
    return json_response(
        200, {"@odata.context": call.context("Collection(Edm.String)"), "value": ids}
    )


def get_directory_object(call: Call) -> Response:
    """GET /directoryObjects/{id}."""
    call.require(p.USER_READ | p.GROUP_READ)
    kind, obj = get_object(call, check_guid(call.params["id"]))
    payload = {
        "@odata.context": call.context("directoryObjects/$entity"),
        **render(obj, kind, select_list(call, kind, collection=False), typed=True),
    }
    return json_response(200, payload)


def get_by_ids(call: Call) -> Response:
    """POST /directoryObjects/getByIds."""
    call.require(p.USER_READ | p.GROUP_READ)
    body = call.body()
    ids = body.get("ids") or []
    types = {str(t).lower() for t in body.get("types") or []}
    out = []
    for object_id in ids:
        kind = call.tenant.kinds.get(str(object_id))
        if (
            kind is None
            or (types and kind.lower() not in types)
            or not call.tenant.visible(str(object_id), call.cutoff)
        ):
            continue
        out.append(render(call.tenant.collection(kind)[str(object_id)], kind, None, typed=True))
    return json_response(200, {"@odata.context": call.context("directoryObjects"), "value": out})


def list_sps(call: Call) -> Response:
    """GET /servicePrincipals."""
    call.require(p.APP_READ)
    return list_page(call, SPS, call.tenant.service_principals.values(), "servicePrincipals")


def get_sp(call: Call) -> Response:
    """GET /servicePrincipals/{id} (also ``(appId='...')``)."""
    call.require(p.APP_READ)
    ident = call.params["id"]
    if ident.startswith("(appId="):
        sp_id = call.tenant.sp_by_appid.get(ident[len("(appId=") :].strip("')"))
        if sp_id is None:
            raise not_found(ident)
        ident = sp_id
    _, sp = get_object(call, check_guid(ident))
    return json_response(200, {"@odata.context": call.context("servicePrincipals/$entity"), **sp})


def sp_app_role_assignments(call: Call) -> Response:
    """GET /servicePrincipals/{id}/appRoleAssignments: the Graph app permissions granted."""
    call.require(p.APP_READ)
    _, sp = get_object(call, check_guid(call.params["id"]))
    graph_sp = call.tenant.sp_by_appid.get(p.GRAPH_APP_ID, str(uuid.UUID(int=0)))
    value = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sp['id']}:{perm}")),
            "appRoleId": p.app_role_id(perm),
            "principalId": sp["id"],
            "principalType": "ServicePrincipal",
            "principalDisplayName": sp.get("displayName"),
            "resourceId": graph_sp,
            "resourceDisplayName": "Microsoft Graph",
            "createdDateTime": sp.get("createdDateTime"),
            "deletedDateTime": None,
            "permission": perm,
        }
        for perm in call.tenant.app_permissions.get(sp["id"], [])
    ]
    return json_response(
        200,
        {
            "@odata.context": call.context(f"servicePrincipals('{sp['id']}')/appRoleAssignments"),
            "value": value,
        },
    )


def _not_found_user_cast(call: Call) -> GraphError:
    return not_found(call.params.get("id", ""))


def register(router: Router) -> None:
    """Attach the user and directory-object routes."""
    router.add("GET", "users", list_users)
    router.add("POST", "users", create_user)
    router.add("GET", "users/$count", count_users)
    router.add("GET", "users/{id}", get_user)
    router.add("PATCH", "users/{id}", update_user)
    router.add("DELETE", "users/{id}", delete_user)
    graph_manager.register(router)
    router.add("GET", "me", get_me)
    for base in (
        "users/{id}",
        "groups/{id}",
        "servicePrincipals/{id}",
        "directoryObjects/{id}",
        "me",
    ):
        router.add("GET", f"{base}/memberOf", member_of)
        router.add("GET", f"{base}/transitiveMemberOf", member_of)
        router.add("POST", f"{base}/checkMemberGroups", check_member_groups)
        router.add("POST", f"{base}/getMemberGroups", get_member_groups)
    router.add("GET", "directoryObjects/{id}", get_directory_object)
    router.add("POST", "directoryObjects/getByIds", get_by_ids)
    router.add("GET", "servicePrincipals", list_sps)
    router.add("GET", "servicePrincipals/{id}", get_sp)
    router.add("GET", "servicePrincipals/{id}/appRoleAssignments", sp_app_role_assignments)
