"""Groups: reads, owners, members, transitive members, and membership writes (graph.md §3).

Creating, updating and deleting a group object is ``graph_group_objects``.

Invariant: a membership write checks, in order, the app permission, the group (id, existence,
the flags that forbid writes), then the member, and changes nothing unless every check passes;
``members@odata.bind`` is all or nothing.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import (
    Call,
    Listing,
    check_guid,
    count_response,
    get_object,
    list_page,
    object_ref,
    render,
    select_list,
)
from jitgate.emulator.graph_expand import EXPAND_PAGE_SIZE, expanded, parse_expand
from jitgate.emulator.http import (
    GraphError,
    Response,
    bad_request,
    empty_response,
    forbidden,
    json_response,
    not_found,
    unsupported_query,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj

GROUPS = Listing(
    kind="group",
    resource="Group",
    filterable={
        "id",
        "displayName",
        "groupTypes",
        "mailEnabled",
        "isAssignableToRole",
        "securityEnabled",
        "onPremisesSyncEnabled",
        "mail",
        "mailNickname",
        "createdDateTime",
        "proxyAddresses",
        "resourceProvisioningOptions",
        "membershipRuleProcessingState",
        "visibility",
        "description",
        "classification",
    },
)
MEMBERS = Listing(
    kind="directoryObject",
    resource="DirectoryObject",
    typed=True,
    filterable=None,
    searchable=frozenset({"displayName", "description", "mail", "userPrincipalName"}),
)
ALREADY_MEMBER = (
    "One or more added object references already exist for the following modified properties: "
    "'{0}'."
)
ON_PREMISES = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects "
    "or objects currently undergoing migration."
)
EXTERNAL_SERVICE = (
    "Unable to update the specified properties for objects that have originated within an "
    "external service."
)
CASTS = {
    "microsoft.graph.user": "user",
    "microsoft.graph.group": "group",
    "microsoft.graph.servicePrincipal": "servicePrincipal",
    "microsoft.graph.device": "device",
    "microsoft.graph.orgContact": "orgContact",
}


def get_group_obj(call: Call, group_id: str) -> Obj:
    """Return a visible group, or raise 400 (not a GUID) / 404."""
    group_id = check_guid(group_id)
    group = call.tenant.groups.get(group_id)
    if group is None or not call.tenant.visible(group_id, call.cutoff):
        raise not_found(group_id)
    return group


def visible_groups(call: Call) -> Iterable[Obj]:
    """Return the groups reads can see."""
    if call.cutoff is None:
        return call.tenant.groups.values()
    created, cutoff = call.tenant.created_at, call.cutoff
    return [g for g in call.tenant.groups.values() if created.get(g["id"], 0.0) <= cutoff]


def is_dynamic(group: Obj) -> bool:
    """Return whether membership is rule-based."""
    return "DynamicMembership" in (group.get("groupTypes") or [])


def check_group_writable(call: Call, group: Obj) -> None:
    """Raise the error Graph gives when this group's membership cannot be written by this app."""
    if group.get("isAssignableToRole"):
        if not p.allowed(call.perms, p.ROLE_WRITE):
            raise forbidden()
        if call.settings.require_sp_role_for_role_assignable and not p.allowed(
            call.perms, frozenset({p.ROLE_ASSIGNABLE_MARK})
        ):
            raise forbidden()
    if group.get("onPremisesSyncEnabled"):
        raise bad_request(ON_PREMISES)
    if is_dynamic(group):
        if call.settings.dynamic_group_error == "400":
            raise bad_request(EXTERNAL_SERVICE)
        raise forbidden()
    if group.get("mailEnabled") and "Unified" not in (group.get("groupTypes") or []):
        if call.settings.mail_enabled_error == "400":
            raise bad_request(EXTERNAL_SERVICE)
        raise forbidden()


#: Graph's answer to removing a group's last owner (group-delete-owners).
LAST_OWNER = "The group must have at least one owner, hence this owner cannot be removed."


def check_member(call: Call, group: Obj, member_id: str, *, owners: bool) -> None:
    """Refuse ``member_id`` as a member (or owner) of ``group`` as Graph does; change nothing."""
    kind, _ = get_object(call, member_id)
    if kind == "servicePrincipal":
        call.require(p.APP_WRITE)
    if kind == "group" and not owners and group.get("isAssignableToRole"):
        raise bad_request("Nesting groups in a role-assignable group is not supported.")
    if kind not in {"user", "group", "servicePrincipal"} or (owners and kind == "group"):
        raise bad_request(f"Invalid object identifier '{member_id}'.")
    table = call.tenant.owners if owners else call.tenant.members
    if member_id in table[group["id"]]:
        raise bad_request(ALREADY_MEMBER.format("owners" if owners else "members"))


def list_groups(call: Call) -> Response:
    """GET /groups (``$expand=owners|members``: ≤ 20 each, pages of ≤ 100; graph_expand)."""
    call.require(p.GROUP_READ)
    expansion = parse_expand(call)
    if expansion is None:
        return list_page(call, GROUPS, visible_groups(call), "groups")

    def extend(group: Obj, item: Obj) -> None:
        item[expansion.name] = expanded(call, expansion, group)

    return list_page(
        call, GROUPS, visible_groups(call), "groups", max_top=EXPAND_PAGE_SIZE, extend=extend
    )


def count_groups(call: Call) -> Response:
    """GET /groups/$count."""
    call.require(p.GROUP_READ)
    return count_response(call, GROUPS, visible_groups(call))


def get_group(call: Call) -> Response:
    """GET /groups/{id} (``$expand=owners|members``, ≤ 20 each; graph_expand)."""
    call.require(p.GROUP_READ)
    expansion = parse_expand(call)
    group = get_group_obj(call, call.params["id"])
    payload = {
        "@odata.context": call.context("groups/$entity"),
        **render(group, "group", select_list(call, "group", collection=False)),
    }
    if expansion is not None:
        payload[expansion.name] = expanded(call, expansion, group)
    return json_response(200, payload)


def _member_objects(call: Call, *, owners: bool, transitive: bool) -> tuple[Obj, list[Obj]]:
    call.require(p.GROUP_READ)
    group = get_group_obj(call, call.params["id"])
    tenant = call.tenant
    if transitive:
        ids: Iterable[str] = tenant.transitive_members(group["id"])
    else:
        ids = tenant.member_ids(
            tenant.owners if owners else tenant.members, group["id"], call.cutoff
        )
    cast = call.params.get("cast")
    want = None
    if cast is not None:
        want = CASTS.get(cast)
        if want is None or (want == "group" and "Unified" in (group.get("groupTypes") or [])):
            raise unsupported_query(
                f"The specified type '{cast}' is not supported for this relationship."
            )
    kinds = tenant.kinds
    out = []
    for member_id in ids:
        kind = kinds.get(member_id)
        if kind is None or (want is not None and kind != want):
            continue
        obj = tenant.collection(kind).get(member_id)
        if obj is not None:
            out.append(obj)
    return group, out


def _member_rules(call: Call) -> None:
    query = call.req.query
    if "$skiptoken" in query:
        return
    if "$filter" in query and not (call.eventual() and query.get("$count", "").lower() == "true"):
        raise unsupported_query(
            "Request with $filter on relationships only works with $count=true and the request header 'ConsistencyLevel: eventual'."
        )


def list_members(call: Call) -> Response:
    """GET /groups/{id}/members | owners | transitiveMembers (optionally cast to a type)."""
    path = call.req.path
    owners = "/owners" in path
    transitive = "/transitiveMembers" in path
    _member_rules(call)
    _, items = _member_objects(call, owners=owners, transitive=transitive)
    kinds = call.tenant.kinds
    if path.endswith("/$count"):
        return count_response(call, MEMBERS, items)
    return list_page(call, MEMBERS, items, "directoryObjects", lambda o: kinds.get(o["id"], "user"))


def add_member_ref(call: Call) -> Response:
    """POST /groups/{id}/members/$ref | owners/$ref."""
    call.require(p.MEMBER_WRITE)
    owners = "/owners/" in call.req.path
    group = get_group_obj(call, call.params["id"])
    if not owners:
        check_group_writable(call, group)
    member_id = object_ref(call.body().get("@odata.id"))
    check_member(call, group, member_id, owners=owners)
    call.tenant.add_member(group["id"], member_id, owners=owners)
    return empty_response()


def remove_member_ref(call: Call) -> Response:
    """DELETE /groups/{id}/members/{memberId}/$ref | owners/{ownerId}/$ref."""
    call.require(p.MEMBER_WRITE)
    owners = "/owners/" in call.req.path
    group = get_group_obj(call, call.params["id"])
    if not owners:
        check_group_writable(call, group)
    member_id = check_guid(call.params["member"])
    if owners:
        _check_not_last_owner(call, group, member_id)
    if not call.tenant.remove_member(group["id"], member_id, owners=owners):
        raise not_found(group["id"])
    return empty_response()


def _check_not_last_owner(call: Call, group: Obj, owner_id: str) -> None:
    """Graph keeps a group's last owner: "the last owner (a user object) cannot be removed"."""
    owners = call.tenant.owners.get(group["id"], {})
    if owner_id not in owners or len(owners) > 1:
        return
    kind, _ = get_object(call, owner_id)
    if kind == "user":
        raise bad_request(LAST_OWNER)


def delete_member_object(call: Call) -> Response:
    """DELETE /groups/{id}/members/{memberId} without ``$ref``: deletes the member object itself.

    This is Graph's documented hazard: with write permission on the member's type, the user (or
    group) is deleted from the directory; without it the call is 403.
    """
    group = get_group_obj(call, call.params["id"])
    member_id = check_guid(call.params["member"])
    if member_id not in call.tenant.members.get(group["id"], {}):
        raise not_found(group["id"])
    kind = call.tenant.kinds[member_id]
    call.require(p.USER_WRITE if kind == "user" else p.GROUP_WRITE)
    call.tenant.delete_object(member_id)
    return empty_response()


def _refuse_owner_delete(_call: Call) -> Response:
    raise GraphError(
        405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
    )


def register(router: Router) -> None:
    """Attach the group read and membership routes."""
    router.add("GET", "groups", list_groups)
    router.add("GET", "groups/$count", count_groups)
    router.add("GET", "groups/{id}", get_group)
    for rel in ("members", "owners", "transitiveMembers"):
        router.add("GET", f"groups/{{id}}/{rel}", list_members)
        router.add("GET", f"groups/{{id}}/{rel}/$count", list_members)
        router.add("GET", f"groups/{{id}}/{rel}/{{cast}}", list_members)
    router.add("POST", "groups/{id}/members/$ref", add_member_ref)
    router.add("POST", "groups/{id}/owners/$ref", add_member_ref)
    router.add("DELETE", "groups/{id}/members/{member}/$ref", remove_member_ref)
    router.add("DELETE", "groups/{id}/owners/{member}/$ref", remove_member_ref)
    router.add("DELETE", "groups/{id}/members/{member}", delete_member_object)
    router.add("DELETE", "groups/{id}/owners/{member}", _refuse_owner_delete)
