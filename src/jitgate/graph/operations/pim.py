"""PIM mode: Entra enforces the expiry. Role and group assignment schedule requests.

``adminAssign`` carries an ``afterDateTime`` expiration, so the access ends in Entra even if
jitgate is down; ``adminRemove`` ends it early. Idempotent like direct mode: an existing
assignment (``RoleAssignmentExists``) is ``already_present``; removing one that is not there
(``RoleAssignmentDoesNotExist`` or 404) is ``already_absent``.

An extended request moves the expiry with ``adminUpdate``: a new ``scheduleInfo`` (from now to
the new ``afterDateTime``) for the active assignment the principal already holds. Not
``adminExtend``: Graph documents that one "to extend *expiring* assignments", the PIM extend of
the portal, offered only for assignments that end within 14 days, while jitgate extends at any
time (a 30-day grant extended on its second day); ``adminRenew`` is for assignments that have
already expired. ``adminUpdate`` ("to change existing assignments") has no such window, and is
checked against the same expiration policy as ``adminAssign``. The update of an assignment that
is no longer there (``RoleAssignmentDoesNotExist`` or 404) is ``already_absent``: the broker then
grants it again.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal

from jitgate.graph.errors import GraphError, GraphNotFound, is_already_exists
from jitgate.graph.limiter import Priority
from jitgate.graph.operations.groups import guid
from jitgate.graph.operations.models import Outcome, WriteResult
from jitgate.graph.operations.roles import scope_id

if TYPE_CHECKING:
    from datetime import datetime

    from jitgate.core.clock import Clock
    from jitgate.graph.client import GraphClient

ROLE_REQUESTS = "/roleManagement/directory/roleAssignmentScheduleRequests"
GROUP_REQUESTS = "/identityGovernance/privilegedAccess/group/assignmentScheduleRequests"
PimAction = Literal["adminAssign", "adminUpdate", "adminRemove"]
#: The actions that carry a schedule (and so need ``ends_at``).
SCHEDULED: frozenset[str] = frozenset({"adminAssign", "adminUpdate"})


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule(clock: Clock, ends_at: datetime) -> dict[str, Any]:
    """``scheduleInfo`` starting now and expiring ``afterDateTime`` at ``ends_at``."""
    if ends_at.tzinfo is None:
        raise ValueError("ends_at must be an aware datetime")
    return {
        "startDateTime": _iso(clock.now()),
        "expiration": {"type": "afterDateTime", "endDateTime": _iso(ends_at)},
    }


def role_request_body(
    *,
    action: PimAction,
    principal_id: str,
    role_definition_id: str,
    directory_scope_id: str,
    justification: str,
    clock: Clock,
    ends_at: datetime | None,
) -> dict[str, Any]:
    """The body of a role assignment schedule request."""
    body: dict[str, Any] = {
        "action": action,
        "principalId": guid(principal_id, "principal id"),
        "roleDefinitionId": guid(role_definition_id, "role definition id"),
        "directoryScopeId": scope_id(directory_scope_id),
        "justification": justification,
    }
    if action in SCHEDULED:
        if ends_at is None:
            raise ValueError(f"{action} needs ends_at: jitgate never asks for permanent access")
        body["scheduleInfo"] = schedule(clock, ends_at)
    return body


def group_request_body(
    *,
    action: PimAction,
    group_id: str,
    principal_id: str,
    access_id: Literal["member", "owner"],
    justification: str,
    clock: Clock,
    ends_at: datetime | None,
) -> dict[str, Any]:
    """The body of a PIM-for-Groups assignment schedule request."""
    body: dict[str, Any] = {
        "action": action,
        "accessId": access_id,
        "groupId": guid(group_id, "group id"),
        "principalId": guid(principal_id, "principal id"),
        "justification": justification,
    }
    if action in SCHEDULED:
        if ends_at is None:
            raise ValueError(f"{action} needs ends_at: jitgate never asks for permanent access")
        body["scheduleInfo"] = schedule(clock, ends_at)
    return body


async def _submit(client: GraphClient, path: str, body: dict[str, Any]) -> WriteResult:
    assign = body["action"] == "adminAssign"
    priority = Priority.GRANT if body["action"] in SCHEDULED else Priority.REVOKE
    try:
        response = await client.request("POST", path, json_body=body, priority=priority)
    except GraphError as err:
        ids = (err.request_id,) if err.request_id else ()
        if assign and is_already_exists(err):
            return WriteResult(Outcome.ALREADY_PRESENT, ids, err.message)
        if not assign and isinstance(err, GraphNotFound):
            return WriteResult(Outcome.ALREADY_ABSENT, ids, err.message)
        raise
    data = response.body if isinstance(response.body, dict) else {}
    ids = (response.request_id,) if response.request_id else ()
    status = str(data.get("status", ""))
    return WriteResult(Outcome.APPLIED, ids, status, data.get("id"))


async def request_role_assignment(
    client: GraphClient,
    *,
    action: PimAction,
    principal_id: str,
    role_definition_id: str,
    clock: Clock,
    directory_scope_id: str = "/",
    ends_at: datetime | None = None,
    justification: str = "jitgate",
) -> WriteResult:
    """Submit a PIM role assignment request; ``object_id`` is the request id, detail its status."""
    body = role_request_body(
        action=action,
        principal_id=principal_id,
        role_definition_id=role_definition_id,
        directory_scope_id=directory_scope_id,
        justification=justification,
        clock=clock,
        ends_at=ends_at,
    )
    return await _submit(client, ROLE_REQUESTS, body)


async def request_group_assignment(
    client: GraphClient,
    *,
    action: PimAction,
    group_id: str,
    principal_id: str,
    clock: Clock,
    access_id: Literal["member", "owner"] = "member",
    ends_at: datetime | None = None,
    justification: str = "jitgate",
) -> WriteResult:
    """Submit a PIM-for-Groups assignment request (member or owner)."""
    body = group_request_body(
        action=action,
        group_id=group_id,
        principal_id=principal_id,
        access_id=access_id,
        justification=justification,
        clock=clock,
        ends_at=ends_at,
    )
    return await _submit(client, GROUP_REQUESTS, body)
