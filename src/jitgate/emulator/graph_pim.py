"""PIM for Entra roles and PIM for Groups (graph.md §5), with expiry driven by the emulator clock.

Invariants:
- an active role schedule *is* a role assignment (``_start``/``_end`` on it), so roleAssignments,
  schedule instances and directoryRoles members agree at all times;
- an active group schedule makes the principal a member/owner; when its end passes, the
  principal is removed (and group delta reports it), unless the membership was removed earlier;
- a request in the future is ``Granted`` and activates at its start; only ``Granted`` requests
  can be cancelled.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, Listing, check_guid, list_page, render
from jitgate.emulator.graph_groups import get_group_obj, is_dynamic
from jitgate.emulator.graph_roles import check_assignment, new_assignment
from jitgate.emulator.graph_users import get_object
from jitgate.emulator.http import (
    GraphError,
    Response,
    bad_request,
    empty_response,
    forbidden,
    json_response,
    not_found,
)
from jitgate.emulator.schedule import Window, check_policy, format_duration, parse_time, window
from jitgate.emulator.store import iso

if TYPE_CHECKING:
    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj, Tenant

ROLE_BASE = "roleManagement/directory"
GROUP_BASE = "identityGovernance/privilegedAccess/group"
ACTIONS = {
    "adminAssign",
    "adminUpdate",
    "adminRemove",
    "adminExtend",
    "adminRenew",
    "selfActivate",
    "selfDeactivate",
    "selfExtend",
    "selfRenew",
}
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    "role": {
        "isExpirationRequired": False,
        "maxAssignmentSeconds": None,
        "maxActivationSeconds": 8 * 3600,
        "requireJustification": True,
    },
    "group": {
        "isExpirationRequired": True,
        "maxAssignmentSeconds": 180 * 86400,
        "maxActivationSeconds": 8 * 3600,
        "requireJustification": True,
    },
}
REQUESTS = Listing(kind="request", resource="UnifiedRoleAssignmentScheduleRequest", filterable=None)
INSTANCES = Listing(
    kind="instance", resource="UnifiedRoleAssignmentScheduleInstance", filterable=None
)


def exists_error() -> GraphError:
    """Return PIM's 400 for an assignment that already exists."""
    return GraphError(400, "RoleAssignmentExists", "The Role assignment already exists.")


def missing_error() -> GraphError:
    """Return PIM's 400 for removing an assignment that does not exist (inferred)."""
    return GraphError(400, "RoleAssignmentDoesNotExist", "The Role assignment does not exist.")


def policy(tenant: Tenant, kind: str) -> dict[str, Any]:
    """Return the PIM policy for ``role`` or ``group`` assignments."""
    return tenant.pim_table("policies").setdefault(kind, dict(DEFAULT_POLICIES[kind]))


def _request_obj(call: Call, body: dict[str, Any], action: str, span: Window | None) -> Obj:
    schedule_info = None
    if span is not None:
        expiration: dict[str, Any] = {
            "type": span.expiration_type,
            "endDateTime": iso(span.end) if span.end else None,
            "duration": None,
        }
        if span.expiration_type == "afterDuration" and span.end is not None:
            expiration["duration"] = format_duration(span.end - span.start)
        schedule_info = {
            "startDateTime": iso(span.start),
            "recurrence": None,
            "expiration": expiration,
        }
    sp_name = call.tenant.service_principals.get(call.caller_id, {}).get("displayName")
    created_by: dict[str, Any] = {"application": None, "device": None, "user": None}
    if call.caller_id in call.tenant.users:
        created_by["user"] = {
            "displayName": call.tenant.users[call.caller_id].get("displayName"),
            "id": call.caller_id,
        }
    else:
        created_by["application"] = {"displayName": sp_name, "id": call.app_id}
    return {
        "id": str(uuid.uuid4()),
        "status": "Provisioned",
        "createdDateTime": iso(call.now),
        "completedDateTime": iso(span.start) if span else None,
        "approvalId": None,
        "customData": body.get("customData"),
        "action": action,
        "principalId": str(body.get("principalId", "")).lower(),
        "isValidationOnly": bool(body.get("isValidationOnly")),
        "targetScheduleId": None,
        "justification": body.get("justification"),
        "createdBy": created_by,
        "scheduleInfo": schedule_info,
        "ticketInfo": body.get("ticketInfo") or {"ticketNumber": None, "ticketSystem": None},
    }


def _action(call: Call, body: dict[str, Any]) -> str:
    action = str(body.get("action", ""))
    if action not in ACTIONS:
        raise bad_request(f"Invalid value specified for property 'action': '{action}'.")
    if action.startswith("self") and call.caller_id not in call.tenant.users:
        raise forbidden()
    if (
        action.startswith("self")
        and action != "selfDeactivate"
        and str(body.get("principalId", "")).lower() != call.caller_id
    ):
        raise forbidden()
    return action


# ----- roles ---------------------------------------------------------------------------------


def _role_eligible(tenant: Tenant, principal: str, role: str, scope: str) -> bool:
    return any(
        e["principalId"] == principal
        and e["roleDefinitionId"] == role
        and e["directoryScopeId"] == scope
        for e in tenant.pim_table("roleEligibilitySchedules").values()
    )


def _activate_role(tenant: Tenant, request: Obj, span: Window) -> None:
    assignment = new_assignment(
        tenant,
        request["principalId"],
        request["roleDefinitionId"],
        request["directoryScopeId"],
        "pim",
    )
    assignment.update(
        {
            "_start": span.start,
            "_end": span.end,
            "_type": "Activated" if request["action"].startswith("self") else "Assigned",
            "_request": request["id"],
        }
    )
    request["targetScheduleId"] = assignment["id"]
    request["status"] = "Provisioned"
    if span.end is not None:
        tenant.schedule_expiry(span.end, "role", assignment["id"])


def create_role_request(call: Call) -> Response:  # noqa: C901 - one branch per PIM action (graph.md §5.1)
    """POST /roleManagement/directory/roleAssignmentScheduleRequests (201)."""
    call.require(p.PIM_ROLE_WRITE)
    body = call.body()
    action = _action(call, body)
    scope = body.get("directoryScopeId") or (
        "/" + body["appScopeId"] if body.get("appScopeId") else "/"
    )
    tenant = call.tenant
    role_id = check_assignment(
        call, str(body.get("principalId", "")), str(body.get("roleDefinitionId", "")), scope
    )
    principal = str(body["principalId"]).lower()
    existing = tenant.find_role_assignment(principal, role_id, scope)
    removing = action in {"adminRemove", "selfDeactivate"}
    span = None if removing else window(body.get("scheduleInfo"), call.now)
    request = _request_obj(call, body, action, span)
    request.update(
        {
            "roleDefinitionId": role_id,
            "directoryScopeId": scope,
            "appScopeId": body.get("appScopeId"),
        }
    )
    if removing:
        if existing is None:
            raise missing_error()
        request.update({"status": "Revoked", "completedDateTime": None})
    elif action in {"adminAssign", "selfActivate"}:
        if existing is not None:
            raise exists_error()
        if action == "selfActivate" and not _role_eligible(tenant, principal, role_id, scope):
            raise GraphError(
                400,
                "RoleAssignmentRequestPolicyValidationFailed",
                'The following policy rules failed: ["EligibilityRule"]',
            )
        check_policy(policy(tenant, "role"), span, body, activation=action == "selfActivate")  # type: ignore[arg-type]
    elif existing is None:
        raise missing_error()
    if request["isValidationOnly"]:
        return _created(call, "roleAssignmentScheduleRequests", request)
    if removing and existing is not None:
        tenant.remove_role_assignment(existing["id"])
    elif existing is not None and span is not None:
        existing["_end"] = span.end
        request["targetScheduleId"] = existing["id"]
        if span.end is not None:
            tenant.schedule_expiry(span.end, "role", existing["id"])
    elif span is not None and span.start > call.now:
        request["status"] = "Granted"
        tenant.schedule_expiry(span.start, "role-start", request["id"])
    elif span is not None:
        _activate_role(tenant, request, span)
    tenant.pim_table("roleAssignmentScheduleRequests")[request["id"]] = request
    return _created(call, "roleAssignmentScheduleRequests", request)


def _created(call: Call, collection: str, request: Obj) -> Response:
    base = GROUP_BASE if "accessId" in request else ROLE_BASE
    return json_response(
        201,
        {
            "@odata.context": call.context(f"{base}/{collection}/$entity"),
            **render(request, "request", None),
        },
    )


def _instance(assignment: Obj) -> Obj:
    start, end = assignment.get("_start"), assignment.get("_end")
    return {
        "id": assignment["id"],
        "principalId": assignment["principalId"],
        "roleDefinitionId": assignment["roleDefinitionId"],
        "directoryScopeId": assignment["directoryScopeId"],
        "appScopeId": assignment.get("appScopeId"),
        "startDateTime": iso(start) if start else None,
        "endDateTime": iso(end) if end else None,
        "assignmentType": assignment.get("_type", "Assigned"),
        "memberType": "Direct",
        "roleAssignmentOriginId": assignment["id"],
        "roleAssignmentScheduleId": assignment["id"],
    }


def list_role_instances(call: Call) -> Response:
    """GET roleAssignmentScheduleInstances / roleAssignmentSchedules (direct ones included)."""
    call.require(p.PIM_ROLE_READ)
    items = [_instance(a) for a in call.tenant.role_assignments.values()]
    name = call.req.path.rsplit("/", 1)[-1]
    return list_page(call, INSTANCES, items, f"{ROLE_BASE}/{name}")


def list_requests(call: Call) -> Response:
    """GET the schedule requests of a PIM collection."""
    name = call.req.path.rsplit("/", 1)[-1]
    call.require(p.PIM_GROUP_READ if "privilegedAccess" in call.req.path else p.PIM_ROLE_READ)
    base = GROUP_BASE if "privilegedAccess" in call.req.path else ROLE_BASE
    table = name if base == ROLE_BASE else f"group{name[0].upper()}{name[1:]}"
    return list_page(call, REQUESTS, call.tenant.pim_table(table).values(), f"{base}/{name}")


def cancel_request(call: Call) -> Response:
    """POST .../assignmentScheduleRequests/{id}/cancel: only ``Granted`` requests (204)."""
    group = "privilegedAccess" in call.req.path
    call.require(p.PIM_GROUP_WRITE if group else p.PIM_ROLE_WRITE)
    table = call.tenant.pim_table(
        "groupAssignmentScheduleRequests" if group else "roleAssignmentScheduleRequests"
    )
    request = table.get(call.params["id"])
    if request is None:
        raise not_found(call.params["id"])
    if request["status"] != "Granted":
        raise GraphError(400, "RequestCannotBeCancelled", "Request is not in cancellable state.")
    request["status"] = "Canceled"
    return empty_response()


def create_eligibility_request(call: Call) -> Response:
    """POST roleEligibilityScheduleRequests or group eligibilityScheduleRequests (201)."""
    group = "privilegedAccess" in call.req.path
    call.require(p.PIM_GROUP_ELIG_WRITE if group else p.PIM_ELIG_WRITE)
    body = call.body()
    action = _action(call, body)
    principal = check_guid(str(body.get("principalId", "")))
    get_object(call, principal)
    if group:
        target = get_group_obj(call, str(body.get("groupId", "")))
        key = {"groupId": target["id"], "accessId": str(body.get("accessId", "member"))}
    else:
        scope = body.get("directoryScopeId") or "/"
        key = {
            "roleDefinitionId": check_assignment(
                call, principal, str(body.get("roleDefinitionId", "")), scope
            ),
            "directoryScopeId": scope,
        }
    table = call.tenant.pim_table(
        "groupEligibilitySchedules" if group else "roleEligibilitySchedules"
    )
    existing = next(
        (
            e
            for e in table.values()
            if e["principalId"] == principal and all(e[k] == v for k, v in key.items())
        ),
        None,
    )
    removing = action == "adminRemove"
    span = None if removing else window(body.get("scheduleInfo"), call.now)
    request = _request_obj(call, body, action, span) | key
    if removing:
        if existing is None:
            raise missing_error()
        table.pop(existing["id"])
        request["status"] = "Revoked"
    elif existing is not None and action == "adminAssign":
        raise exists_error()
    elif span is not None:
        schedule = {
            "id": str(uuid.uuid4()),
            "principalId": principal,
            **key,
            "startDateTime": iso(span.start),
            "endDateTime": iso(span.end) if span.end else None,
            "memberType": "Direct",
            "status": "Provisioned",
        }
        table[schedule["id"]] = schedule
        request["targetScheduleId"] = schedule["id"]
        if span.end is not None:
            call.tenant.schedule_expiry(
                span.end, "eligibility-group" if group else "eligibility-role", schedule["id"]
            )
    name = "eligibilityScheduleRequests" if group else "roleEligibilityScheduleRequests"
    call.tenant.pim_table("groupEligibilityScheduleRequests" if group else name)[request["id"]] = (
        request
    )
    return _created(call, name, request)


def list_eligibility(call: Call) -> Response:
    """GET role or group eligibility schedules / instances."""
    group = "privilegedAccess" in call.req.path
    call.require(p.PIM_GROUP_ELIG_READ if group else p.PIM_ELIG_READ)
    if group and "$filter" not in call.req.query:
        raise bad_request("The $filter query parameter is required for this request.")
    table = call.tenant.pim_table(
        "groupEligibilitySchedules" if group else "roleEligibilitySchedules"
    )
    name = call.req.path.rsplit("/", 1)[-1]
    return list_page(
        call, INSTANCES, table.values(), f"{GROUP_BASE if group else ROLE_BASE}/{name}"
    )


# ----- groups --------------------------------------------------------------------------------


def _group_active(tenant: Tenant, group_id: str, principal: str, access: str) -> Obj | None:
    return next(
        (
            s
            for s in tenant.pim_table("groupSchedules").values()
            if s["groupId"] == group_id
            and s["principalId"] == principal
            and s["accessId"] == access
        ),
        None,
    )


def _apply_group(tenant: Tenant, request: Obj, span: Window) -> None:
    schedule_id = f"{request['groupId']}_{request['accessId']}_{uuid.uuid4()}"
    schedule = {
        "id": schedule_id,
        "principalId": request["principalId"],
        "groupId": request["groupId"],
        "accessId": request["accessId"],
        "startDateTime": iso(span.start),
        "endDateTime": iso(span.end) if span.end else None,
        "assignmentType": "Activated" if request["action"].startswith("self") else "Assigned",
        "memberType": "Direct",
        "assignmentScheduleId": schedule_id,
        "_end": span.end,
    }
    tenant.pim_table("groupSchedules")[schedule_id] = schedule
    tenant.add_member(
        request["groupId"], request["principalId"], owners=request["accessId"] == "owner"
    )
    request["targetScheduleId"] = schedule_id
    request["status"] = "Provisioned"
    if span.end is not None:
        tenant.schedule_expiry(span.end, "group", schedule_id)


def create_group_request(call: Call) -> Response:
    """POST /identityGovernance/privilegedAccess/group/assignmentScheduleRequests (201)."""
    call.require(p.PIM_GROUP_WRITE)
    body = call.body()
    action = _action(call, body)
    access = str(body.get("accessId", ""))
    if access not in {"member", "owner"}:
        raise bad_request(f"Invalid value specified for property 'accessId': '{access}'.")
    group = get_group_obj(call, str(body.get("groupId", "")))
    if is_dynamic(group) or group.get("onPremisesSyncEnabled"):
        raise bad_request(
            "Dynamic groups and groups synced from on-premises cannot be managed by Privileged Identity Management."
        )
    principal = check_guid(str(body.get("principalId", "")))
    get_object(call, principal)
    tenant = call.tenant
    existing = _group_active(tenant, group["id"], principal, access)
    removing = action in {"adminRemove", "selfDeactivate"}
    span = None if removing else window(body.get("scheduleInfo"), call.now)
    request = _request_obj(call, body, action, span) | {"accessId": access, "groupId": group["id"]}
    if removing:
        if existing is None:
            raise missing_error()
        request.update({"status": "Revoked", "completedDateTime": None})
    elif action in {"adminAssign", "selfActivate"}:
        if existing is not None:
            raise exists_error()
        check_policy(policy(tenant, "group"), span, body, activation=action == "selfActivate")  # type: ignore[arg-type]
    elif existing is None:
        raise missing_error()
    if not request["isValidationOnly"]:
        _commit_group(call, request, existing, span)
        tenant.pim_table("groupAssignmentScheduleRequests")[request["id"]] = request
    return _created(call, "assignmentScheduleRequests", request)


def _commit_group(call: Call, request: Obj, existing: Obj | None, span: Window | None) -> None:
    tenant = call.tenant
    if span is None and existing is not None:
        tenant.pim_table("groupSchedules").pop(existing["id"], None)
        tenant.remove_member(
            existing["groupId"], existing["principalId"], owners=existing["accessId"] == "owner"
        )
    elif existing is not None and span is not None:
        existing["_end"] = span.end
        existing["endDateTime"] = iso(span.end) if span.end else None
        request["targetScheduleId"] = existing["id"]
        if span.end is not None:
            tenant.schedule_expiry(span.end, "group", existing["id"])
    elif span is not None and span.start > call.now:
        request["status"] = "Granted"
        tenant.schedule_expiry(span.start, "group-start", request["id"])
    elif span is not None:
        _apply_group(tenant, request, span)


def list_group_instances(call: Call) -> Response:
    """GET group assignmentScheduleInstances / assignmentSchedules (``$filter`` required)."""
    call.require(p.PIM_GROUP_READ)
    if "$filter" not in call.req.query:
        raise bad_request("The $filter query parameter is required for this request.")
    name = call.req.path.rsplit("/", 1)[-1]
    return list_page(
        call, INSTANCES, call.tenant.pim_table("groupSchedules").values(), f"{GROUP_BASE}/{name}"
    )


def on_expire(tenant: Tenant, kind: str, ident: str) -> None:
    """Apply one due schedule event (start or end) at the emulator clock's current time."""
    now = tenant.now()
    if kind == "role":
        assignment = tenant.role_assignments.get(ident)
        if (
            assignment is not None
            and assignment.get("_end") is not None
            and assignment["_end"] <= now
        ):
            tenant.remove_role_assignment(ident)
    elif kind == "group":
        schedule = tenant.pim_table("groupSchedules").get(ident)
        if schedule is not None and schedule["_end"] is not None and schedule["_end"] <= now:
            tenant.pim_table("groupSchedules").pop(ident)
            tenant.remove_member(
                schedule["groupId"], schedule["principalId"], owners=schedule["accessId"] == "owner"
            )
    elif kind in {"eligibility-role", "eligibility-group"}:
        tenant.pim_table(
            "roleEligibilitySchedules"
            if kind == "eligibility-role"
            else "groupEligibilitySchedules"
        ).pop(ident, None)
    elif kind in {"role-start", "group-start"}:
        _start_pending(tenant, kind, ident)


def _start_pending(tenant: Tenant, kind: str, ident: str) -> None:
    table = tenant.pim_table(
        "roleAssignmentScheduleRequests"
        if kind == "role-start"
        else "groupAssignmentScheduleRequests"
    )
    request = table.get(ident)
    if request is None or request["status"] != "Granted":
        return
    expiration = request["scheduleInfo"]["expiration"]
    span = Window(tenant.now(), _end_of(expiration), expiration["type"], None)
    if kind == "role-start":
        _activate_role(tenant, request, span)
    else:
        _apply_group(tenant, request, span)


def _end_of(expiration: dict[str, Any]) -> float | None:
    return parse_time(expiration["endDateTime"]) if expiration.get("endDateTime") else None


def list_policies(call: Call) -> Response:
    """GET /policies/roleManagementPolicies: the seeded default policies, as rules."""
    call.require(p.POLICY_READ | frozenset({"RoleManagementPolicy.Read.AzureADGroup"}))
    value = []
    for kind in ("role", "group"):
        rules = policy(call.tenant, kind)
        value.append(
            {
                "id": f"DirectoryRole_{call.tenant.tenant_id}_{kind}"
                if kind == "role"
                else f"Group_{kind}",
                "displayName": "Directory Role" if kind == "role" else "Group",
                "scopeId": "/" if kind == "role" else "*",
                "scopeType": "DirectoryRole" if kind == "role" else "Group",
                "isOrganizationDefault": False,
                "rules": [
                    {
                        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                        "id": "Expiration_Admin_Assignment",
                        "isExpirationRequired": rules["isExpirationRequired"],
                        "maximumDuration": format_duration(rules["maxAssignmentSeconds"])
                        if rules["maxAssignmentSeconds"]
                        else None,
                    },
                    {
                        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
                        "id": "Expiration_EndUser_Assignment",
                        "isExpirationRequired": True,
                        "maximumDuration": format_duration(rules["maxActivationSeconds"]),
                    },
                    {
                        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
                        "id": "Enablement_EndUser_Assignment",
                        "enabledRules": ["Justification"] if rules["requireJustification"] else [],
                    },
                ],
            }
        )
    return json_response(
        200, {"@odata.context": call.context("policies/roleManagementPolicies"), "value": value}
    )


def register(router: Router) -> None:
    """Attach the PIM routes."""
    router.add("POST", f"{ROLE_BASE}/roleAssignmentScheduleRequests", create_role_request)
    router.add("GET", f"{ROLE_BASE}/roleAssignmentScheduleRequests", list_requests)
    router.add("POST", f"{ROLE_BASE}/roleAssignmentScheduleRequests/{{id}}/cancel", cancel_request)
    router.add("GET", f"{ROLE_BASE}/roleAssignmentScheduleInstances", list_role_instances)
    router.add("GET", f"{ROLE_BASE}/roleAssignmentSchedules", list_role_instances)
    router.add("POST", f"{ROLE_BASE}/roleEligibilityScheduleRequests", create_eligibility_request)
    router.add("GET", f"{ROLE_BASE}/roleEligibilitySchedules", list_eligibility)
    router.add("GET", f"{ROLE_BASE}/roleEligibilityScheduleInstances", list_eligibility)
    router.add("POST", f"{GROUP_BASE}/assignmentScheduleRequests", create_group_request)
    router.add("GET", f"{GROUP_BASE}/assignmentScheduleRequests", list_requests)
    router.add("POST", f"{GROUP_BASE}/assignmentScheduleRequests/{{id}}/cancel", cancel_request)
    router.add("GET", f"{GROUP_BASE}/assignmentScheduleInstances", list_group_instances)
    router.add("GET", f"{GROUP_BASE}/assignmentSchedules", list_group_instances)
    router.add("POST", f"{GROUP_BASE}/eligibilityScheduleRequests", create_eligibility_request)
    router.add("GET", f"{GROUP_BASE}/eligibilitySchedules", list_eligibility)
    router.add("GET", f"{GROUP_BASE}/eligibilityScheduleInstances", list_eligibility)
    router.add("GET", "policies/roleManagementPolicies", list_policies)
