"""Directory roles: definitions, direct assignments at tenant or administrative-unit scope.

Invariant: ``assign_role`` and ``unassign_role`` are idempotent. A duplicate assignment
(400 "conflicting object") is ``already_present`` and the existing assignment's id is looked up;
removing an assignment that is not there (nothing listed, or 404 on delete) is
``already_absent``. Replication lag: an assignment we just created may not be listed yet, so
revocations can pass the id the grant returned and delete it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.graph import odata
from jitgate.graph.errors import GraphError, GraphNotFound, is_already_exists
from jitgate.graph.limiter import Priority
from jitgate.graph.operations.groups import guid, replication_policy
from jitgate.graph.operations.models import (
    AdministrativeUnit,
    Listing,
    Outcome,
    RoleAssignment,
    RoleDefinition,
    WriteResult,
)
from jitgate.graph.paging import Pager

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jitgate.graph.client import GraphClient

ASSIGNMENTS = "/roleManagement/directory/roleAssignments"
DEFINITIONS = "/roleManagement/directory/roleDefinitions"


def scope_id(directory_scope_id: str = "/") -> str:
    """Validate a directory scope: ``/`` or ``/administrativeUnits/{guid}``."""
    if directory_scope_id == "/":
        return "/"
    prefix = "/administrativeUnits/"
    if directory_scope_id.startswith(prefix):
        return prefix + guid(directory_scope_id[len(prefix) :], "administrative unit id")
    raise ValueError(f"unsupported directory scope: {directory_scope_id!r}")


def parse_assignment(obj: Mapping[str, Any]) -> RoleAssignment:
    """A ``unifiedRoleAssignment``."""
    return RoleAssignment(
        id=str(obj["id"]),
        principal_id=str(obj.get("principalId")),
        role_definition_id=str(obj.get("roleDefinitionId")),
        directory_scope_id=str(obj.get("directoryScopeId") or "/"),
    )


async def list_role_definitions(client: GraphClient) -> Listing[RoleDefinition]:
    """Every directory role definition (built-in and custom)."""
    pager = Pager(client, DEFINITIONS)
    items = [
        RoleDefinition(
            id=str(obj["id"]),
            display_name=str(obj.get("displayName") or obj["id"]),
            template_id=obj.get("templateId"),
            is_built_in=bool(obj.get("isBuiltIn")),
            is_enabled=bool(obj.get("isEnabled", True)),
            description=obj.get("description"),
        )
        async for obj in pager.items()
    ]
    return Listing(tuple(items), tuple(pager.request_ids))


async def list_administrative_units(client: GraphClient) -> Listing[AdministrativeUnit]:
    """Every administrative unit (scopes for role assignments)."""
    pager = Pager(
        client,
        "/directory/administrativeUnits",
        params={"$select": "id,displayName,description"},
    )
    items = [
        AdministrativeUnit(str(o["id"]), o.get("displayName"), o.get("description"))
        async for o in pager.items()
    ]
    return Listing(tuple(items), tuple(pager.request_ids))


async def list_role_assignments(
    client: GraphClient,
    *,
    role_definition_id: str | None = None,
    principal_id: str | None = None,
    directory_scope_id: str | None = None,
    priority: Priority = Priority.READ,
) -> Listing[RoleAssignment]:
    """Direct assignments of a role and/or a principal, optionally at one scope."""
    if principal_id is not None:
        flt = odata.eq("principalId", guid(principal_id, "principal id"))
    elif role_definition_id is not None:
        flt = odata.eq("roleDefinitionId", guid(role_definition_id, "role definition id"))
    else:
        raise ValueError("filter by role definition or principal")
    pager = Pager(client, ASSIGNMENTS, params={"$filter": str(flt)}, priority=priority)
    items = []
    scope = scope_id(directory_scope_id) if directory_scope_id is not None else None
    async for obj in pager.items():
        assignment = parse_assignment(obj)
        if role_definition_id is not None and assignment.role_definition_id != role_definition_id:
            continue
        if scope is not None and assignment.directory_scope_id != scope:
            continue
        items.append(assignment)
    return Listing(tuple(items), tuple(pager.request_ids))


def assignment_body(
    principal_id: str, role_definition_id: str, directory_scope_id: str
) -> dict[str, str]:
    """The POST body of a direct role assignment."""
    return {
        "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
        "principalId": guid(principal_id, "principal id"),
        "roleDefinitionId": guid(role_definition_id, "role definition id"),
        "directoryScopeId": scope_id(directory_scope_id),
    }


async def assign_role(
    client: GraphClient,
    *,
    principal_id: str,
    role_definition_id: str,
    directory_scope_id: str = "/",
) -> WriteResult:
    """Create a direct role assignment (``already_present`` if it exists; id in the result)."""
    body = assignment_body(principal_id, role_definition_id, directory_scope_id)
    policy = replication_policy(client.retry)
    try:
        response = await client.request(
            "POST", ASSIGNMENTS, json_body=body, priority=Priority.GRANT, retry=policy
        )
    except GraphError as err:
        if not is_already_exists(err):
            raise
        found = await list_role_assignments(
            client,
            principal_id=principal_id,
            role_definition_id=role_definition_id,
            directory_scope_id=directory_scope_id,
            priority=Priority.GRANT,
        )
        ids = tuple(i for i in (err.request_id,) if i) + found.request_ids
        existing = found.items[0].id if found.items else None
        return WriteResult(Outcome.ALREADY_PRESENT, ids, err.message, existing)
    assignment_id = str((response.body or {}).get("id", "")) or None
    return WriteResult(Outcome.APPLIED, _ids(response.request_id), object_id=assignment_id)


async def unassign_role(
    client: GraphClient,
    *,
    principal_id: str,
    role_definition_id: str,
    directory_scope_id: str = "/",
    assignment_id: str | None = None,
) -> WriteResult:
    """Remove a direct role assignment, finding its id unless given (idempotent)."""
    ids: tuple[str, ...] = ()
    targets = [assignment_id] if assignment_id else []
    if not targets:
        found = await list_role_assignments(
            client,
            principal_id=principal_id,
            role_definition_id=role_definition_id,
            directory_scope_id=directory_scope_id,
            priority=Priority.REVOKE,
        )
        ids = found.request_ids
        targets = [a.id for a in found.items]
    if not targets:
        return WriteResult(Outcome.ALREADY_ABSENT, ids, "no such assignment")
    outcome = Outcome.ALREADY_ABSENT
    for target in targets:
        try:
            response = await client.request(
                "DELETE", f"{ASSIGNMENTS}/{_path_segment(target)}", priority=Priority.REVOKE
            )
        except GraphNotFound as err:
            ids += _ids(err.request_id)
            continue
        ids += _ids(response.request_id)
        outcome = Outcome.APPLIED
    return WriteResult(outcome, ids, object_id=targets[0])


def _path_segment(assignment_id: str) -> str:
    """Assignment ids are opaque (e.g. ``YUb1...-1``): allow only URL-safe characters."""
    if not assignment_id or not all(c.isalnum() or c in "-_" for c in assignment_id):
        raise ValueError(f"not a role assignment id: {assignment_id!r}")
    return assignment_id


def _ids(request_id: str | None) -> tuple[str, ...]:
    return (request_id,) if request_id else ()
