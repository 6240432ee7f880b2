"""PIM shared by Entra roles and groups (graph.md §5): requests, eligibility, cancellation.

Invariants:
- a request in the future is ``Granted`` and activates at its start; only ``Granted`` requests
  can be cancelled;
- the ``self*`` actions are only for a signed-in user acting on themself (``selfDeactivate``
  excepted).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, Listing, check_guid, get_object, list_page, render
from jitgate.emulator.graph_groups import get_group_obj
from jitgate.emulator.graph_roles import check_assignment
from jitgate.emulator.http import (
    GraphError,
    Response,
    bad_request,
    empty_response,
    forbidden,
    json_response,
    not_found,
)
from jitgate.emulator.schedule import Window, format_duration, window
from jitgate.emulator.store import iso

if TYPE_CHECKING:
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


def request_obj(call: Call, body: dict[str, Any], action: str, span: Window | None) -> Obj:
    """Return a new schedule request object for ``body`` (``Provisioned`` until decided)."""
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


def check_action(call: Call, body: dict[str, Any]) -> str:
    """Return the request's action; reject unknown ones and ``self*`` for someone else."""
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


def created(call: Call, collection: str, request: Obj) -> Response:
    """Return the 201 for a schedule request of a role or group collection."""
    base = GROUP_BASE if "accessId" in request else ROLE_BASE
    return json_response(
        201,
        {
            "@odata.context": call.context(f"{base}/{collection}/$entity"),
            **render(request, "request", None),
        },
    )


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
    action = check_action(call, body)
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
    request = request_obj(call, body, action, span) | key
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
    return created(call, name, request)


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
