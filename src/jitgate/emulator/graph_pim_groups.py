"""PIM for Groups (graph.md §5.2), with expiry driven by the emulator clock.

Invariant: an active group schedule makes the principal a member/owner; when its end passes, the
principal is removed (and group delta reports it), unless the membership was removed earlier.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, check_guid, get_object, list_page
from jitgate.emulator.graph_groups import get_group_obj, is_dynamic
from jitgate.emulator.graph_pim_common import (
    GROUP_BASE,
    INSTANCES,
    check_action,
    created,
    exists_error,
    missing_error,
    policy,
    request_obj,
)
from jitgate.emulator.http import Response, bad_request
from jitgate.emulator.schedule import Window, check_policy, window
from jitgate.emulator.store import iso

if TYPE_CHECKING:
    from jitgate.emulator.store import Obj, Tenant


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


def apply_group(tenant: Tenant, request: Obj, span: Window) -> None:
    """Make ``request`` an active group schedule for ``span`` (and schedule its end)."""
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
    action = check_action(call, body)
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
    request = request_obj(call, body, action, span) | {"accessId": access, "groupId": group["id"]}
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
    elif span is not None:  # adminUpdate / adminExtend / adminRenew: the new schedule's rules
        check_policy(policy(tenant, "group"), span, body, activation=action.startswith("self"))
    if not request["isValidationOnly"]:
        _commit_group(call, request, existing, span)
        tenant.pim_table("groupAssignmentScheduleRequests")[request["id"]] = request
    return created(call, "assignmentScheduleRequests", request)


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
        apply_group(tenant, request, span)


def list_group_instances(call: Call) -> Response:
    """GET group assignmentScheduleInstances / assignmentSchedules (``$filter`` required)."""
    call.require(p.PIM_GROUP_READ)
    if "$filter" not in call.req.query:
        raise bad_request("The $filter query parameter is required for this request.")
    name = call.req.path.rsplit("/", 1)[-1]
    return list_page(
        call, INSTANCES, call.tenant.pim_table("groupSchedules").values(), f"{GROUP_BASE}/{name}"
    )
