"""PIM for Entra roles and PIM for Groups (graph.md §5), with expiry driven by the emulator clock.

Invariants:
- an active role schedule *is* a role assignment (``_start``/``_end`` on it), so roleAssignments,
  schedule instances and directoryRoles members agree at all times;
- an active group schedule makes the principal a member/owner; when its end passes, the
  principal is removed (and group delta reports it), unless the membership was removed earlier;
- a request in the future is ``Granted`` and activates at its start; only ``Granted`` requests
  can be cancelled.

This module attaches the PIM routes, serves the policies and applies due schedule events; the
handlers live in ``graph_pim_roles``, ``graph_pim_groups`` and ``graph_pim_common`` (shared).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_pim_common import (
    DEFAULT_POLICIES,
    GROUP_BASE,
    ROLE_BASE,
    cancel_request,
    create_eligibility_request,
    list_eligibility,
    list_requests,
    policy,
)
from jitgate.emulator.graph_pim_groups import (
    apply_group,
    create_group_request,
    list_group_instances,
)
from jitgate.emulator.graph_pim_roles import activate_role, create_role_request, list_role_instances
from jitgate.emulator.http import Response, json_response
from jitgate.emulator.schedule import Window, format_duration, parse_time

if TYPE_CHECKING:
    from jitgate.emulator.graph_common import Call
    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Tenant

__all__ = ["DEFAULT_POLICIES", "on_expire", "register"]


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
        activate_role(tenant, request, span)
    else:
        apply_group(tenant, request, span)


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
