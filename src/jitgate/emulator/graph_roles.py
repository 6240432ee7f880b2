"""Directory roles (graph.md §4).

Definitions, assignments (tenant and administrative-unit scope) and the legacy ``directoryRoles`` API; administrative units themselves are in ``graph_admin_units``.

Invariant: legacy ``directoryRoles/{id}/members`` are exactly the principals holding that role's
template at scope ``/``; adding a member there creates the same assignment ``roleAssignments``
lists, so both views never disagree.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import (
    Call,
    Listing,
    check_guid,
    get_object,
    list_page,
    object_ref,
    render,
)
from jitgate.emulator.http import (
    Response,
    bad_request,
    empty_response,
    json_response,
    not_found,
    unsupported_query,
)
from jitgate.emulator.tokens import b64url

if TYPE_CHECKING:
    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj, Tenant

ROLE_DEFINITIONS = Listing(
    kind="unifiedRoleDefinition",
    resource="UnifiedRoleDefinition",
    filterable={"id", "displayName", "isBuiltIn", "templateId", "isEnabled"},
)
ROLE_ASSIGNMENTS = Listing(
    kind="unifiedRoleAssignment",
    resource="UnifiedRoleAssignment",
    filterable={"id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"},
)
CONFLICT = "A conflicting object with one or more of the specified property values is present in the directory."
NO_PAGE_SIZE = (
    "This resource does not support custom page sizes. Please retry without a page size argument."
)


def role_definition(tenant: Tenant, role_id: str) -> Obj | None:
    """Return a role definition by id or template id."""
    found = tenant.role_definitions.get(role_id)
    if found is None:
        found = next(
            (d for d in tenant.role_definitions.values() if d.get("templateId") == role_id), None
        )
    return found


def new_assignment(tenant: Tenant, principal_id: str, role_id: str, scope: str, origin: str) -> Obj:
    """Create and store a role assignment (no checks: callers check)."""
    assignment = {
        "id": f"{b64url(uuid.uuid4().bytes)}-1",
        "principalId": principal_id,
        "roleDefinitionId": role_id,
        "directoryScopeId": scope,
        "appScopeId": None,
        "resourceScope": scope,
        "condition": None,
        "_origin": origin,
    }
    return tenant.add_role_assignment(assignment)


def check_assignment(call: Call, principal_id: str, role_id: str, scope: str) -> str:
    """Validate an assignment's role, principal and scope; return the role definition id."""
    tenant = call.tenant
    definition = role_definition(tenant, role_id)
    if definition is None:
        raise not_found(role_id)
    kind, principal = get_object(call, check_guid(principal_id))
    if kind == "group" and not principal.get("isAssignableToRole"):
        raise bad_request(
            "The group is not role-assignable. Only groups with isAssignableToRole set to true can be assigned roles."
        )
    if kind not in {"user", "group", "servicePrincipal"}:
        raise bad_request(f"Invalid object identifier '{principal_id}'.")
    if scope != "/":
        target = scope.strip("/").split("/")[-1]
        if (
            not (scope.startswith("/administrativeUnits/") and target in tenant.admin_units)
            and target not in tenant.applications
        ):
            raise not_found(target)
    return str(definition["id"])


def list_definitions(call: Call) -> Response:
    """GET /roleManagement/directory/roleDefinitions."""
    call.require(p.ROLE_READ)
    return list_page(
        call,
        ROLE_DEFINITIONS,
        call.tenant.role_definitions.values(),
        "roleManagement/directory/roleDefinitions",
    )


def get_definition(call: Call) -> Response:
    """GET /roleManagement/directory/roleDefinitions/{id}."""
    call.require(p.ROLE_READ)
    definition = role_definition(call.tenant, call.params["id"])
    if definition is None:
        raise not_found(call.params["id"])
    return json_response(
        200,
        {
            "@odata.context": call.context("roleManagement/directory/roleDefinitions/$entity"),
            **definition,
        },
    )


def _expand_principal(call: Call, item: Obj) -> Obj:
    if call.req.query.get("$expand", "").startswith("principal"):
        kind = call.tenant.kinds.get(item["principalId"])
        obj = call.tenant.get(item["principalId"])
        item["principal"] = render(obj, kind, None, typed=True) if obj and kind else None
    return item


def list_assignments(call: Call) -> Response:
    """GET /roleManagement/directory/roleAssignments (``$filter`` principalId/roleDefinitionId)."""
    call.require(p.ROLE_READ)
    response = list_page(
        call,
        ROLE_ASSIGNMENTS,
        call.tenant.role_assignments.values(),
        "roleManagement/directory/roleAssignments",
    )
    if "$expand" in call.req.query and isinstance(response.payload, dict):
        payload = response.payload
        payload["value"] = [_expand_principal(call, item) for item in payload["value"]]
        return json_response(200, payload)
    return response


def get_assignment(call: Call) -> Response:
    """GET /roleManagement/directory/roleAssignments/{id}."""
    call.require(p.ROLE_READ)
    assignment = call.tenant.role_assignments.get(call.params["id"])
    if assignment is None:
        raise not_found(call.params["id"])
    item = _expand_principal(call, render(assignment, "unifiedRoleAssignment", None))
    return json_response(
        200,
        {
            "@odata.context": call.context("roleManagement/directory/roleAssignments/$entity"),
            **item,
        },
    )


def create_assignment(call: Call) -> Response:
    """POST /roleManagement/directory/roleAssignments (201)."""
    call.require(p.ROLE_WRITE)
    body = call.body()
    for name in ("roleDefinitionId", "principalId"):
        if not body.get(name):
            raise bad_request(
                f"Invalid value specified for property '{name}' of resource 'UnifiedRoleAssignment'."
            )
    scope = body.get("directoryScopeId") or (
        "/" + body["appScopeId"] if body.get("appScopeId") else "/"
    )
    role_id = check_assignment(call, str(body["principalId"]), str(body["roleDefinitionId"]), scope)
    if call.tenant.find_role_assignment(str(body["principalId"]).lower(), role_id, scope):
        raise bad_request(CONFLICT)
    assignment = new_assignment(
        call.tenant, str(body["principalId"]).lower(), role_id, scope, "direct"
    )
    return json_response(
        201,
        {
            "@odata.context": call.context("roleManagement/directory/roleAssignments/$entity"),
            **render(assignment, "unifiedRoleAssignment", None),
        },
    )


def delete_assignment(call: Call) -> Response:
    """DELETE /roleManagement/directory/roleAssignments/{id}."""
    call.require(p.ROLE_WRITE)
    if call.tenant.remove_role_assignment(call.params["id"]) is None:
        raise not_found(call.params["id"])
    return empty_response()


def _directory_role(call: Call) -> Obj:
    ident = call.params["id"]
    tenant = call.tenant
    if ident.startswith("roleTemplateId="):
        template = ident.split("=", 1)[1].strip("'")
        role = next(
            (r for r in tenant.directory_roles.values() if r["roleTemplateId"] == template), None
        )
    else:
        role = tenant.directory_roles.get(ident)
    if role is None:
        raise not_found(ident)
    return role


def list_directory_roles(call: Call) -> Response:
    """GET /directoryRoles (activated roles; no paging, ``$top`` refused)."""
    call.require(p.ROLE_READ)
    if "$top" in call.req.query:
        raise unsupported_query(NO_PAGE_SIZE)
    value = [render(r, "directoryRole", None) for r in call.tenant.directory_roles.values()]
    return json_response(200, {"@odata.context": call.context("directoryRoles"), "value": value})


def get_directory_role(call: Call) -> Response:
    """GET /directoryRoles/{id} or /directoryRoles/roleTemplateId={templateId}."""
    call.require(p.ROLE_READ)
    return json_response(
        200, {"@odata.context": call.context("directoryRoles/$entity"), **_directory_role(call)}
    )


def activate_directory_role(call: Call) -> Response:
    """POST /directoryRoles with ``{"roleTemplateId"}`` (201)."""
    call.require(p.ROLE_WRITE)
    body = call.body()
    if set(body) != {"roleTemplateId"}:
        raise bad_request(
            "Only the roleTemplateId property may be set when activating a directory role."
        )
    template = str(body["roleTemplateId"])
    definition = role_definition(call.tenant, template)
    if definition is None:
        raise not_found(template)
    if any(r["roleTemplateId"] == template for r in call.tenant.directory_roles.values()):
        raise bad_request(CONFLICT)
    role = activate(call.tenant, definition)
    return json_response(201, {"@odata.context": call.context("directoryRoles/$entity"), **role})


def activate(tenant: Tenant, definition: Obj) -> Obj:
    """Activate the legacy directoryRole object for a role definition."""
    role = {
        "id": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.tenant_id}/directoryRole/{definition['id']}")
        ),
        "deletedDateTime": None,
        "description": definition.get("description"),
        "displayName": definition.get("displayName"),
        "roleTemplateId": definition.get("templateId") or definition["id"],
    }
    tenant.directory_roles[role["id"]] = role
    tenant.kinds[role["id"]] = "directoryRole"
    return role


def directory_role_members(call: Call) -> Response:
    """GET /directoryRoles/{id}/members."""
    call.require(p.ROLE_READ)
    role = _directory_role(call)
    tenant = call.tenant
    items: list[Any] = []
    for assignment in tenant.role_assignments.values():
        if (
            assignment["roleDefinitionId"] == role["roleTemplateId"]
            and assignment["directoryScopeId"] == "/"
        ):
            obj = tenant.get(assignment["principalId"])
            if obj is not None:
                items.append(obj)
    return list_page(
        call,
        Listing(kind="directoryObject", resource="DirectoryObject", typed=True),
        items,
        "directoryObjects",
        lambda o: tenant.kinds[o["id"]],
    )


def add_directory_role_member(call: Call) -> Response:
    """POST /directoryRoles/{id}/members/$ref (204)."""
    call.require(p.ROLE_WRITE)
    role = _directory_role(call)
    member_id = object_ref(call.body().get("@odata.id"))
    role_id = check_assignment(call, member_id, role["roleTemplateId"], "/")
    if call.tenant.find_role_assignment(member_id, role_id, "/"):
        raise bad_request(
            "One or more added object references already exist for the following modified properties: 'members'."
        )
    new_assignment(call.tenant, member_id, role_id, "/", "direct")
    return empty_response()


def remove_directory_role_member(call: Call) -> Response:
    """DELETE /directoryRoles/{id}/members/{memberId}/$ref (204)."""
    call.require(p.ROLE_WRITE)
    role = _directory_role(call)
    assignment = call.tenant.find_role_assignment(
        check_guid(call.params["member"]), role["roleTemplateId"], "/"
    )
    if assignment is None:
        raise not_found(role["id"])
    call.tenant.remove_role_assignment(assignment["id"])
    return empty_response()


def register(router: Router) -> None:
    """Attach the role routes."""
    base = "roleManagement/directory"
    router.add("GET", f"{base}/roleDefinitions", list_definitions)
    router.add("GET", f"{base}/roleDefinitions/{{id}}", get_definition)
    router.add("GET", f"{base}/roleAssignments", list_assignments)
    router.add("POST", f"{base}/roleAssignments", create_assignment)
    router.add("GET", f"{base}/roleAssignments/{{id}}", get_assignment)
    router.add("DELETE", f"{base}/roleAssignments/{{id}}", delete_assignment)
    router.add("GET", "directoryRoles", list_directory_roles)
    router.add("POST", "directoryRoles", activate_directory_role)
    router.add("GET", "directoryRoles/{id}", get_directory_role)
    router.add("GET", "directoryRoles/{id}/members", directory_role_members)
    router.add("POST", "directoryRoles/{id}/members/$ref", add_directory_role_member)
    router.add("DELETE", "directoryRoles/{id}/members/{member}/$ref", remove_directory_role_member)
