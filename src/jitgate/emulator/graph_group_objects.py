"""Group objects: create, update (properties and ``@odata.bind``), delete (graph.md §3).

Invariant: ``members@odata.bind`` / ``owners@odata.bind`` are all or nothing: every reference is
checked (≤ 20, existing, not already a member) before the first is added.
"""
# ruff: noqa: E501 - Graph texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, object_ref, render
from jitgate.emulator.graph_groups import (
    ALREADY_MEMBER,
    ON_PREMISES,
    check_group_writable,
    check_member,
    get_group_obj,
)
from jitgate.emulator.http import Response, bad_request, empty_response, forbidden, json_response
from jitgate.emulator.store import iso

if TYPE_CHECKING:
    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj

MAX_BIND = 20


def _binds(call: Call, group: Obj, body: dict[str, Any], name: str) -> list[str]:
    refs = body.get(f"{name}@odata.bind")
    if refs is None:
        return []
    if not isinstance(refs, list):
        raise bad_request(f"Invalid value for '{name}@odata.bind'.", "BadRequest")
    if len(refs) > MAX_BIND:
        raise bad_request(f"The number of '{name}@odata.bind' values cannot exceed 20.")
    ids = [object_ref(ref) for ref in refs]
    for member_id in ids:
        check_member(call, group, member_id, owners=name == "owners")
    if len(set(ids)) != len(ids):
        raise bad_request(ALREADY_MEMBER.format(name))
    return ids


def update_group(call: Call) -> Response:
    """PATCH /groups/{id}: properties and/or ``members@odata.bind`` (≤ 20, all or nothing)."""
    body = call.body()
    binding = "members@odata.bind" in body or "owners@odata.bind" in body
    call.require(p.MEMBER_WRITE if binding else p.GROUP_WRITE)
    group = get_group_obj(call, call.params["id"])
    if "members@odata.bind" in body:
        check_group_writable(call, group)
    members = _binds(call, group, body, "members")
    owners = _binds(call, group, body, "owners")
    props = {k: v for k, v in body.items() if "@odata" not in k}
    if props:
        call.require(p.GROUP_WRITE)
        if "isAssignableToRole" in props:
            raise bad_request("Property 'isAssignableToRole' is read-only and cannot be set.")
        if group.get("onPremisesSyncEnabled"):
            raise bad_request(ON_PREMISES)
        group.update(props)
        call.tenant.touch("group", group["id"])
    for member_id in members:
        call.tenant.add_member(group["id"], member_id)
    for owner_id in owners:
        call.tenant.add_member(group["id"], owner_id, owners=True)
    return empty_response()


def create_group(call: Call) -> Response:
    """POST /groups."""
    call.require(p.GROUP_WRITE | frozenset({"Group.Create"}))
    body = call.body()
    for name in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
        if name not in body:
            raise bad_request(f"Invalid value specified for property '{name}' of resource 'Group'.")
    if body.get("isAssignableToRole"):
        if not p.allowed(call.perms, p.ROLE_WRITE):
            raise forbidden()
        if not body.get("securityEnabled") or "DynamicMembership" in (body.get("groupTypes") or []):
            raise bad_request(
                "A role-assignable group must be security-enabled and cannot have dynamic membership."
            )
    group = new_group(call.now, body)
    members = _binds(call, group, body, "members") if "members@odata.bind" in body else []
    owners = _binds(call, group, body, "owners") if "owners@odata.bind" in body else []
    call.tenant.add_object("group", group)
    for member_id in members:
        call.tenant.add_member(group["id"], member_id)
    for owner_id in owners:
        call.tenant.add_member(group["id"], owner_id, owners=True)
    return json_response(
        201, {"@odata.context": call.context("groups/$entity"), **render(group, "group", None)}
    )


def new_group(now: float, body: dict[str, Any]) -> Obj:
    """Return a group object with Graph's defaults filled in."""
    group: Obj = {
        "id": str(uuid.uuid4()),
        "deletedDateTime": None,
        "classification": None,
        "createdDateTime": iso(now),
        "description": None,
        "expirationDateTime": None,
        "groupTypes": [],
        "isAssignableToRole": None,
        "mail": None,
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "onPremisesLastSyncDateTime": None,
        "onPremisesSecurityIdentifier": None,
        "onPremisesSyncEnabled": None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "proxyAddresses": [],
        "renewedDateTime": iso(now),
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "securityIdentifier": "S-1-12-1-"
        + "-".join(str(uuid.uuid4().int % 4294967296) for _ in range(4)),
        "theme": None,
        "visibility": None,
        "onPremisesProvisioningErrors": [],
    }
    group.update({k: v for k, v in body.items() if "@odata" not in k})
    return group


def delete_group(call: Call) -> Response:
    """DELETE /groups/{id}."""
    call.require(p.GROUP_WRITE)
    group = get_group_obj(call, call.params["id"])
    call.tenant.delete_object(group["id"])
    return empty_response()


def register(router: Router) -> None:
    """Attach the group object routes."""
    router.add("POST", "groups", create_group)
    router.add("PATCH", "groups/{id}", update_group)
    router.add("DELETE", "groups/{id}", delete_group)
