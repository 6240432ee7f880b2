"""Groups: read a group, its direct members and owners; add and remove members and owners.

Invariants:
* writes are idempotent (DESIGN.md 4): "already exist" on add is ``already_present``, 404 on
  remove is ``already_absent``; both are success;
* a write to a group Graph will never let us change (dynamic membership, mail-enabled security
  or distribution list, synced from on-premises, role-assignable without the needed role) raises
  ``UnchangeableGroupError`` *before* any call, with a reason an operator can act on;
* ids are checked to be GUIDs before they go into a URL path.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING, Any

from jitgate.graph.batch import BatchRequest
from jitgate.graph.errors import (
    GraphError,
    GraphNotFound,
    UnchangeableGroupError,
    is_already_exists,
)
from jitgate.graph.limiter import Priority
from jitgate.graph.operations.models import (
    GRAPH_OBJECT_URL,
    OWNERS_TAG,
    Action,
    DirectoryObjectRef,
    Group,
    Listing,
    Outcome,
    PrincipalKind,
    WriteResult,
)
from jitgate.graph.paging import Pager
from jitgate.protocol.v1 import Permission

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from jitgate.graph.client import GraphClient
    from jitgate.graph.retry import RetryPolicy

GROUP_FIELDS = (
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "isAssignableToRole",
    "onPremisesSyncEnabled",
)
REF_FIELDS = "id,displayName,userPrincipalName"
#: A write that 404s right after the object was created is retried this often (graph.md §8),
#: with backoff steps of at least ``REPLICATION_BASE_DELAY_S``.
REPLICATION_ATTEMPTS = 4
REPLICATION_BASE_DELAY_S = 1.0


def replication_policy(policy: RetryPolicy) -> RetryPolicy:
    """``policy``, also retrying 404s long enough to outlast replication lag."""
    return dataclasses.replace(
        policy,
        not_found_attempts=REPLICATION_ATTEMPTS,
        base_delay_s=max(policy.base_delay_s, REPLICATION_BASE_DELAY_S),
    )


def guid(value: str, what: str = "object id") -> str:
    """Return ``value`` if it is a GUID; raise ``ValueError`` otherwise (never put it in a URL)."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError) as err:
        raise ValueError(f"{what} is not a GUID: {value!r}") from err


def group_select(tag_attributes: Iterable[str] = ()) -> str:
    """The ``$select`` for groups, with the directory extension attributes used as tags."""
    return ",".join((*GROUP_FIELDS, *tag_attributes))


def parse_group(
    obj: Mapping[str, Any], tag_attributes: Iterable[str] = (), owners: Iterable[str] = ()
) -> Group:
    """Build a ``Group`` from a Graph group object (and its owners' ids or UPNs)."""
    owner_list = tuple(owners)
    tags: dict[str, str | tuple[str, ...]] = {}
    for attribute in tag_attributes:
        value = obj.get(attribute)
        if value is not None:
            tags[tag_name(attribute)] = str(value)
    tags[OWNERS_TAG] = owner_list
    return Group(
        id=str(obj["id"]),
        display_name=obj.get("displayName"),
        description=obj.get("description"),
        mail=obj.get("mail"),
        mail_enabled=bool(obj.get("mailEnabled")),
        security_enabled=bool(obj.get("securityEnabled")),
        group_types=tuple(obj.get("groupTypes") or ()),
        is_assignable_to_role=bool(obj.get("isAssignableToRole")),
        on_premises_sync_enabled=bool(obj.get("onPremisesSyncEnabled")),
        owners=owner_list,
        tags=tags,
    )


def tag_name(attribute: str) -> str:
    """``extension_<appId>_costCenter`` → ``costCenter`` (other names pass through)."""
    if attribute.startswith("extension_"):
        parts = attribute.split("_", 2)
        if len(parts) == 3:  # noqa: PLR2004 - extension, app id, name
            return parts[2]
    return attribute


def parse_ref(obj: Mapping[str, Any]) -> DirectoryObjectRef:
    """A member or owner entry (``@odata.type`` decides the kind)."""
    return DirectoryObjectRef(
        id=str(obj["id"]),
        kind=kind_of(obj),
        display_name=obj.get("displayName"),
        user_principal_name=obj.get("userPrincipalName"),
    )


def kind_of(obj: Mapping[str, Any]) -> PrincipalKind:
    """The principal kind from ``@odata.type``."""
    odata_type = str(obj.get("@odata.type", "")).rsplit(".", 1)[-1]
    try:
        return PrincipalKind(odata_type)
    except ValueError:
        return PrincipalKind.OTHER


def unchangeable_reason(
    group: Group, permission: Permission, *, can_manage_role_assignable: bool | None = None
) -> str | None:
    """Why Graph will refuse to change this group's members or owners, or ``None``."""
    name = group.display_name or group.id
    if group.on_premises_sync_enabled:
        return (
            f"group '{name}' is synced from on-premises Active Directory; "
            "change its membership there"
        )
    if permission is Permission.MEMBER and group.is_dynamic:
        return f"group '{name}' has dynamic membership; its members are set by its rule"
    if group.mail_enabled and not group.is_unified:
        kind = "mail-enabled security group" if group.security_enabled else "distribution list"
        return f"group '{name}' is a {kind}; it is read-only in Graph (manage it in Exchange)"
    if group.is_assignable_to_role and can_manage_role_assignable is False:
        return (
            f"group '{name}' is role-assignable: Privileged Role Administrator "
            "(or RoleManagement.ReadWrite.Directory) is required to change it"
        )
    return None


def ensure_changeable(
    group: Group, permission: Permission, *, can_manage_role_assignable: bool | None = None
) -> None:
    """Raise ``UnchangeableGroupError`` (terminal) if Graph would refuse the write."""
    reason = unchangeable_reason(
        group, permission, can_manage_role_assignable=can_manage_role_assignable
    )
    if reason is not None:
        raise UnchangeableGroupError(reason, code="UnchangeableGroup")


def _relation(permission: Permission) -> str:
    if permission is Permission.MEMBER:
        return "members"
    if permission is Permission.OWNER:
        return "owners"
    raise ValueError(f"groups have member and owner permissions, not {permission}")


def membership_request(
    action: Action, group_id: str, principal_id: str, permission: Permission
) -> BatchRequest:
    """The Graph request that adds or removes ``principal_id`` as member or owner."""
    gid, pid, relation = (
        guid(group_id, "group id"),
        guid(principal_id, "principal id"),
        _relation(permission),
    )
    if action is Action.GRANT:
        return BatchRequest(
            "POST",
            f"/groups/{gid}/{relation}/$ref",
            body={"@odata.id": GRAPH_OBJECT_URL + pid},
            priority=Priority.GRANT,
        )
    return BatchRequest("DELETE", f"/groups/{gid}/{relation}/{pid}/$ref", priority=Priority.REVOKE)


def interpret_write(action: Action, err: GraphError | None) -> Outcome | None:
    """Map a write's failure to an idempotent outcome, or ``None`` if it is a real failure."""
    if err is None:
        return Outcome.APPLIED
    if action is Action.GRANT and is_already_exists(err):
        return Outcome.ALREADY_PRESENT
    if action is Action.REVOKE and isinstance(err, GraphNotFound):
        return Outcome.ALREADY_ABSENT
    return None


async def get_group(
    client: GraphClient, group_id: str, *, tag_attributes: Iterable[str] = ()
) -> tuple[Group, tuple[str, ...]]:
    """Read one group (with its owners) and the request ids that read it."""
    gid = guid(group_id, "group id")
    response = await client.request(
        "GET", f"/groups/{gid}", params={"$select": group_select(tag_attributes)}
    )
    owners = await list_group_owners(client, gid)
    ids = tuple(i for i in (response.request_id,) if i) + owners.request_ids
    owner_ids = tuple(o.user_principal_name or o.id for o in owners.items)
    return parse_group(response.body, tag_attributes, owner_ids), ids


async def _list_refs(
    client: GraphClient, group_id: str, relation: str
) -> Listing[DirectoryObjectRef]:
    gid = guid(group_id, "group id")
    pager = Pager(
        client, f"/groups/{gid}/{relation}", params={"$select": REF_FIELDS, "$top": "999"}
    )
    items = [parse_ref(obj) async for obj in pager.items()]
    return Listing(tuple(items), tuple(pager.request_ids))


async def list_group_members(client: GraphClient, group_id: str) -> Listing[DirectoryObjectRef]:
    """The group's direct members."""
    return await _list_refs(client, group_id, "members")


async def list_group_owners(client: GraphClient, group_id: str) -> Listing[DirectoryObjectRef]:
    """The group's owners."""
    return await _list_refs(client, group_id, "owners")


async def change_group_access(
    client: GraphClient,
    *,
    action: Action,
    group: Group,
    principal_id: str,
    permission: Permission = Permission.MEMBER,
    can_manage_role_assignable: bool | None = None,
) -> WriteResult:
    """Add or remove a member or owner, idempotently; refuses unchangeable groups up front."""
    ensure_changeable(group, permission, can_manage_role_assignable=can_manage_role_assignable)
    req = membership_request(action, group.id, principal_id, permission)
    # A just-created group or principal can read back 404 for a while: retry adds.
    policy = replication_policy(client.retry) if action is Action.GRANT else client.retry
    try:
        response = await client.request(
            req.method, req.url, json_body=req.body, priority=req.priority, retry=policy
        )
    except GraphError as err:
        outcome = interpret_write(action, err)
        if outcome is None:
            raise
        return WriteResult(outcome, tuple(i for i in (err.request_id,) if i), err.message)
    return WriteResult(Outcome.APPLIED, tuple(i for i in (response.request_id,) if i))


async def add_group_member(
    client: GraphClient,
    *,
    group: Group,
    principal_id: str,
    can_manage_role_assignable: bool | None = None,
) -> WriteResult:
    """Add ``principal_id`` to ``group``'s members (``already_present`` if it is one)."""
    return await change_group_access(
        client,
        action=Action.GRANT,
        group=group,
        principal_id=principal_id,
        permission=Permission.MEMBER,
        can_manage_role_assignable=can_manage_role_assignable,
    )


async def remove_group_member(
    client: GraphClient,
    *,
    group: Group,
    principal_id: str,
    can_manage_role_assignable: bool | None = None,
) -> WriteResult:
    """Remove ``principal_id`` from ``group``'s members (``already_absent`` if not one)."""
    return await change_group_access(
        client,
        action=Action.REVOKE,
        group=group,
        principal_id=principal_id,
        permission=Permission.MEMBER,
        can_manage_role_assignable=can_manage_role_assignable,
    )


async def add_group_owner(
    client: GraphClient,
    *,
    group: Group,
    principal_id: str,
    can_manage_role_assignable: bool | None = None,
) -> WriteResult:
    """Make ``principal_id`` an owner of ``group``."""
    return await change_group_access(
        client,
        action=Action.GRANT,
        group=group,
        principal_id=principal_id,
        permission=Permission.OWNER,
        can_manage_role_assignable=can_manage_role_assignable,
    )


async def remove_group_owner(
    client: GraphClient,
    *,
    group: Group,
    principal_id: str,
    can_manage_role_assignable: bool | None = None,
) -> WriteResult:
    """Remove ``principal_id`` from ``group``'s owners."""
    return await change_group_access(
        client,
        action=Action.REVOKE,
        group=group,
        principal_id=principal_id,
        permission=Permission.OWNER,
        can_manage_role_assignable=can_manage_role_assignable,
    )
