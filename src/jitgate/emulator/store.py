"""The in-memory tenant: directory objects, membership in both directions, a change log.

Invariants:
- every object id is in ``kinds`` (its ``@odata.type`` name) and in exactly one collection;
- ``members[g][m]`` exists exactly when ``member_of[m]`` holds ``g`` (the same for owners and
  administrative units), so every membership write and check is O(1);
- every user and group write appends one entry to ``changes``; a delta token is a position in it;
- times are POSIX seconds from the emulator clock (``Tenant.clock``), never the wall clock.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from cryptography.x509 import Certificate

    from jitgate.core.clock import Clock

Obj = dict[str, Any]

OP_CHANGED = 0
OP_MEMBER_ADDED = 1
OP_MEMBER_REMOVED = 2
OP_DELETED = 3

ODATA_TYPES = {
    "user": "#microsoft.graph.user",
    "group": "#microsoft.graph.group",
    "servicePrincipal": "#microsoft.graph.servicePrincipal",
    "application": "#microsoft.graph.application",
    "administrativeUnit": "#microsoft.graph.administrativeUnit",
    "directoryRole": "#microsoft.graph.directoryRole",
}


def iso(ts: float) -> str:
    """Return POSIX seconds as Graph's ``2026-01-05T09:00:00Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


WRITE_LOG = 200_000  # membership writes remembered in ``Tenant.write_log``


@dataclass
class Secret:
    """A client secret of an application (the text is only ever shown once, at creation)."""

    key_id: str
    text: str
    display_name: str
    start: float
    end: float


@dataclass
class CertKey:
    """A certificate registered on an application, with both thumbprints precomputed."""

    key_id: str
    cert: Certificate
    x5t: str  # base64url SHA-1
    x5t_s256: str  # base64url SHA-256
    display_name: str
    start: float
    end: float


@dataclass
class Tenant:
    """One emulated Entra tenant."""

    tenant_id: str
    clock: Clock
    display_name: str = "Contoso"
    domains: list[str] = field(default_factory=lambda: ["contoso.onmicrosoft.com"])
    lock: threading.RLock = field(default_factory=threading.RLock)
    kinds: dict[str, str] = field(default_factory=dict)
    users: dict[str, Obj] = field(default_factory=dict)
    upn_index: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    mfa_secrets: dict[str, str] = field(default_factory=dict)  # user id -> base32 TOTP secret
    managers: dict[str, str] = field(default_factory=dict)
    groups: dict[str, Obj] = field(default_factory=dict)
    members: dict[str, dict[str, float]] = field(default_factory=dict)
    member_of: dict[str, set[str]] = field(default_factory=dict)
    owners: dict[str, dict[str, float]] = field(default_factory=dict)
    owner_of: dict[str, set[str]] = field(default_factory=dict)
    recently_removed: dict[str, dict[str, float]] = field(default_factory=dict)
    #: (wall-clock POSIX seconds, "add"|"remove") of every membership write that changed
    #: something, newest last (benchmarks read the pace Graph saw from it; bounded).
    write_log: deque[tuple[float, str]] = field(default_factory=lambda: deque(maxlen=WRITE_LOG))
    admin_units: dict[str, Obj] = field(default_factory=dict)
    au_members: dict[str, dict[str, float]] = field(default_factory=dict)
    au_of: dict[str, set[str]] = field(default_factory=dict)
    applications: dict[str, Obj] = field(default_factory=dict)
    app_by_appid: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, list[Secret]] = field(default_factory=dict)  # by appId
    certs: dict[str, list[CertKey]] = field(default_factory=dict)  # by appId
    service_principals: dict[str, Obj] = field(default_factory=dict)
    sp_by_appid: dict[str, str] = field(default_factory=dict)
    app_permissions: dict[str, list[str]] = field(default_factory=dict)  # by SP id
    #: app role assignments: {id, principalId, resourceId (SP id), appRoleId}
    app_role_assignments: list[Obj] = field(default_factory=list)
    post_logout_uris: dict[str, list[str]] = field(default_factory=dict)  # by appId
    role_definitions: dict[str, Obj] = field(default_factory=dict)
    role_assignments: dict[str, Obj] = field(default_factory=dict)
    ra_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)
    ra_by_principal: dict[str, set[str]] = field(default_factory=dict)
    directory_roles: dict[str, Obj] = field(default_factory=dict)  # activated, by id
    pim: dict[str, dict[str, Obj]] = field(default_factory=dict)  # collection -> id -> object
    expiries: list[tuple[float, str, str]] = field(default_factory=list)
    created_at: dict[str, float] = field(default_factory=dict)
    changes: list[tuple[str, str, str, int]] = field(default_factory=list)
    connector_app_id: str = ""
    connector_secret: str = ""
    on_expire: list[Callable[[Tenant, str, str], None]] = field(default_factory=list)

    # ----- time and visibility -------------------------------------------------------------

    def now(self) -> float:
        """Return the emulator clock as POSIX seconds."""
        return self.clock.now().timestamp()

    def visible(self, object_id: str, cutoff: float | None) -> bool:
        """Return whether an object exists and is visible to reads at ``cutoff`` (lag)."""
        if object_id not in self.kinds:
            return False
        if cutoff is None:
            return True
        return self.created_at.get(object_id, 0.0) <= cutoff

    def member_ids(
        self, table: dict[str, dict[str, float]], group_id: str, cutoff: float | None
    ) -> Iterator[str]:
        """Yield the direct members (or owners) of ``group_id`` as reads see them."""
        edges = table.get(group_id, {})
        if cutoff is None:
            yield from edges
            return
        for member_id, added in edges.items():
            if added <= cutoff:
                yield member_id
        for member_id, removed in self.recently_removed.get(group_id, {}).items():
            if removed > cutoff and member_id not in edges:
                yield member_id

    # ----- objects ---------------------------------------------------------------------------

    def add_object(self, kind: str, obj: Obj, *, log: bool = True) -> Obj:
        """Store a new directory object of ``kind`` and index it."""
        object_id = obj["id"]
        self.kinds[object_id] = kind
        self.created_at[object_id] = self.now()
        if kind == "user":
            self.users[object_id] = obj
            self.upn_index[obj["userPrincipalName"].lower()] = object_id
        elif kind == "group":
            self.groups[object_id] = obj
            self.members.setdefault(object_id, {})
            self.owners.setdefault(object_id, {})
        elif kind == "servicePrincipal":
            self.service_principals[object_id] = obj
            self.sp_by_appid[obj["appId"]] = object_id
        elif kind == "application":
            self.applications[object_id] = obj
            self.app_by_appid[obj["appId"]] = object_id
        elif kind == "administrativeUnit":
            self.admin_units[object_id] = obj
            self.au_members.setdefault(object_id, {})
        if log and kind in {"user", "group"}:
            self.changes.append((kind, object_id, "", OP_CHANGED))
        return obj

    def get(self, object_id: str) -> Obj | None:
        """Return any directory object by id."""
        kind = self.kinds.get(object_id)
        if kind is None:
            return None
        return self.collection(kind).get(object_id)

    def collection(self, kind: str) -> dict[str, Obj]:
        """Return the dict that holds objects of ``kind``."""
        return {
            "user": self.users,
            "group": self.groups,
            "servicePrincipal": self.service_principals,
            "application": self.applications,
            "administrativeUnit": self.admin_units,
            "directoryRole": self.directory_roles,
        }[kind]

    def find_user(self, id_or_upn: str) -> Obj | None:
        """Return a user by object id or userPrincipalName."""
        user = self.users.get(id_or_upn)
        if user is None:
            object_id = self.upn_index.get(id_or_upn.lower())
            user = self.users.get(object_id) if object_id else None
        return user

    def touch(self, kind: str, object_id: str) -> None:
        """Record that an object's properties changed (for delta)."""
        self.changes.append((kind, object_id, "", OP_CHANGED))

    def delete_object(self, object_id: str) -> None:
        """Delete an object with all its memberships, ownerships and role assignments."""
        kind = self.kinds.pop(object_id)
        self.collection(kind).pop(object_id, None)
        for group_id in list(self.member_of.get(object_id, ())):
            self.remove_member(group_id, object_id)
        for group_id in list(self.owner_of.get(object_id, ())):
            self.remove_member(group_id, object_id, owners=True)
        for unit_id in list(self.au_of.pop(object_id, ())):
            self.au_members[unit_id].pop(object_id, None)
        for assignment_id in list(self.ra_by_principal.get(object_id, ())):
            self.remove_role_assignment(assignment_id)
        if kind == "user":
            self.upn_index = {k: v for k, v in self.upn_index.items() if v != object_id}
        if kind == "group":
            for member_id in self.members.pop(object_id, {}):
                self.member_of[member_id].discard(object_id)
            for owner_id in self.owners.pop(object_id, {}):
                self.owner_of[owner_id].discard(object_id)
        if kind in {"user", "group"}:
            self.changes.append((kind, object_id, "", OP_DELETED))

    # ----- membership ------------------------------------------------------------------------

    def add_member(self, group_id: str, member_id: str, *, owners: bool = False) -> bool:
        """Add a member (or owner); return False when it was already there."""
        table, reverse = (self.owners, self.owner_of) if owners else (self.members, self.member_of)
        edges = table[group_id]
        if member_id in edges:
            return False
        edges[member_id] = self.now()
        reverse.setdefault(member_id, set()).add(group_id)
        self.write_log.append((time.time(), "add"))
        if not owners:
            self.changes.append(("group", group_id, member_id, OP_MEMBER_ADDED))
        return True

    def remove_member(self, group_id: str, member_id: str, *, owners: bool = False) -> bool:
        """Remove a member (or owner); return False when it was not there."""
        table, reverse = (self.owners, self.owner_of) if owners else (self.members, self.member_of)
        if table.get(group_id, {}).pop(member_id, None) is None:
            return False
        reverse[member_id].discard(group_id)
        self.write_log.append((time.time(), "remove"))
        if not owners:
            self.recently_removed.setdefault(group_id, {})[member_id] = self.now()
            self.changes.append(("group", group_id, member_id, OP_MEMBER_REMOVED))
        return True

    def transitive_groups(self, object_id: str) -> set[str]:
        """Return every group that ``object_id`` belongs to, directly or through nesting."""
        seen: set[str] = set()
        frontier = list(self.member_of.get(object_id, ()))
        while frontier:
            group_id = frontier.pop()
            if group_id in seen:
                continue
            seen.add(group_id)
            frontier.extend(self.member_of.get(group_id, ()))
        return seen

    def transitive_members(self, group_id: str) -> list[str]:
        """Return every member of ``group_id`` through nested groups, without duplicates."""
        seen: dict[str, None] = {}
        frontier = [group_id]
        visited: set[str] = set()
        while frontier:
            current = frontier.pop()
            if current in visited:
                continue
            visited.add(current)
            for member_id in self.members.get(current, {}):
                seen.setdefault(member_id, None)
                if self.kinds.get(member_id) == "group":
                    frontier.append(member_id)
        return list(seen)

    # ----- role assignments ------------------------------------------------------------------

    def add_role_assignment(self, assignment: Obj) -> Obj:
        """Store a role assignment and index it by principal and by its (principal, role, scope)."""
        key = (
            assignment["principalId"],
            assignment["roleDefinitionId"],
            assignment["directoryScopeId"],
        )
        self.role_assignments[assignment["id"]] = assignment
        self.ra_keys[key] = assignment["id"]
        self.ra_by_principal.setdefault(assignment["principalId"], set()).add(assignment["id"])
        return assignment

    def find_role_assignment(self, principal_id: str, role_id: str, scope: str) -> Obj | None:
        """Return the assignment of ``role_id`` to ``principal_id`` at ``scope``, if any."""
        assignment_id = self.ra_keys.get((principal_id, role_id, scope))
        return self.role_assignments.get(assignment_id) if assignment_id else None

    def remove_role_assignment(self, assignment_id: str) -> Obj | None:
        """Delete a role assignment; return it (``None`` when unknown)."""
        assignment = self.role_assignments.pop(assignment_id, None)
        if assignment is None:
            return None
        key = (
            assignment["principalId"],
            assignment["roleDefinitionId"],
            assignment["directoryScopeId"],
        )
        self.ra_keys.pop(key, None)
        self.ra_by_principal.get(assignment["principalId"], set()).discard(assignment_id)
        return assignment

    def roles_of(self, principal_id: str, scope: str = "/") -> set[str]:
        """Return the role definition ids held by a principal at ``scope`` (directly or via groups)."""
        principals = {principal_id} | self.transitive_groups(principal_id)
        held: set[str] = set()
        for principal in principals:
            for assignment_id in self.ra_by_principal.get(principal, ()):
                assignment = self.role_assignments[assignment_id]
                if assignment["directoryScopeId"] == scope:
                    held.add(assignment["roleDefinitionId"])
        return held

    # ----- PIM collections and expiry --------------------------------------------------------

    def pim_table(self, name: str) -> dict[str, Obj]:
        """Return the PIM collection ``name`` (created on first use)."""
        return self.pim.setdefault(name, {})

    def schedule_expiry(self, end: float, kind: str, schedule_id: str) -> None:
        """Arrange for ``on_expire`` callbacks to run for ``schedule_id`` at ``end``."""
        heapq.heappush(self.expiries, (end, kind, schedule_id))

    def expire_due(self) -> int:
        """Run every expiry whose time has come; return how many ran (cheap when none)."""
        if not self.expiries or self.expiries[0][0] > self.now():
            return 0
        now = self.now()
        count = 0
        while self.expiries and self.expiries[0][0] <= now:
            _, kind, schedule_id = heapq.heappop(self.expiries)
            for callback in self.on_expire:
                callback(self, kind, schedule_id)
            count += 1
        return count
