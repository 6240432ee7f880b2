"""PIM for Entra roles (graph.md §5.1), with expiry driven by the emulator clock.

Invariant: an active role schedule *is* a role assignment (``_start``/``_end`` on it), so
roleAssignments, schedule instances and directoryRoles members agree at all times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, list_page
from jitgate.emulator.graph_pim_common import (
    INSTANCES,
    ROLE_BASE,
    check_action,
    created,
    exists_error,
    missing_error,
    policy,
    request_obj,
)
from jitgate.emulator.graph_roles import check_assignment, new_assignment
from jitgate.emulator.http import GraphError, Response
from jitgate.emulator.schedule import Window, check_policy, window
from jitgate.emulator.store import iso

if TYPE_CHECKING:
    from jitgate.emulator.store import Obj, Tenant


def _role_eligible(tenant: Tenant, principal: str, role: str, scope: str) -> bool:
    return any(
        e["principalId"] == principal
        and e["roleDefinitionId"] == role
        and e["directoryScopeId"] == scope
        for e in tenant.pim_table("roleEligibilitySchedules").values()
    )


def activate_role(tenant: Tenant, request: Obj, span: Window) -> None:
    """Make ``request`` an active role assignment for ``span`` (and schedule its end)."""
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


def _check_schedule(
    tenant: Tenant,
    action: str,
    *,
    existing: Obj | None,
    span: Window | None,
    body: dict[str, object],
    target: tuple[str, str, str],
) -> None:
    """Validate a request that sets a schedule: assign/activate, or update/extend/renew."""
    if action in {"adminAssign", "selfActivate"}:
        if existing is not None:
            raise exists_error()
        if action == "selfActivate" and not _role_eligible(tenant, *target):
            raise GraphError(
                400,
                "RoleAssignmentRequestPolicyValidationFailed",
                'The following policy rules failed: ["EligibilityRule"]',
            )
        check_policy(policy(tenant, "role"), span, body, activation=action == "selfActivate")  # type: ignore[arg-type]
    elif existing is None:
        raise missing_error()
    elif span is not None:  # adminUpdate / adminExtend / adminRenew: the new schedule's rules
        check_policy(policy(tenant, "role"), span, body, activation=action.startswith("self"))


def create_role_request(call: Call) -> Response:
    """POST /roleManagement/directory/roleAssignmentScheduleRequests (201)."""
    call.require(p.PIM_ROLE_WRITE)
    body = call.body()
    action = check_action(call, body)
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
    request = request_obj(call, body, action, span)
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
    else:
        _check_schedule(
            tenant,
            action,
            existing=existing,
            span=span,
            body=body,
            target=(principal, role_id, scope),
        )
    if request["isValidationOnly"]:
        return created(call, "roleAssignmentScheduleRequests", request)
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
        activate_role(tenant, request, span)
    tenant.pim_table("roleAssignmentScheduleRequests")[request["id"]] = request
    return created(call, "roleAssignmentScheduleRequests", request)


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
