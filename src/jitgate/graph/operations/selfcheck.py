"""Self-check: what the connector's identity may do, against what its configuration needs.

Reads the application permissions in the access token (``roles``) and the directory roles the
service principal holds (its tenant-scope role assignments), and compares them with graph.md §10
for the enabled resource types and grant mode. Every missing item becomes one actionable line.

The token is opaque to Graph clients for *authorization*; we only read our own claims here to
tell an operator what to grant, never to decide access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt

from jitgate.graph import odata
from jitgate.graph.errors import GraphForbidden
from jitgate.graph.paging import Pager
from jitgate.protocol.v1 import GrantMode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jitgate.graph.client import GraphClient

PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
GROUPS_ADMINISTRATOR = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
DIRECTORY_WRITERS = "9360feb5-f418-4baa-8175-e2a00bac4301"
ROLE_NAMES = {
    PRIVILEGED_ROLE_ADMINISTRATOR: "Privileged Role Administrator",
    GLOBAL_ADMINISTRATOR: "Global Administrator",
    GROUPS_ADMINISTRATOR: "Groups Administrator",
    USER_ADMINISTRATOR: "User Administrator",
    DIRECTORY_WRITERS: "Directory Writers",
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """Something the connector needs: any one permission or any one role satisfies it."""

    message: str
    permissions: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def met(self, permissions: frozenset[str], roles: frozenset[str]) -> bool:
        """Whether the identity satisfies this requirement."""
        return bool(self.permissions & permissions) or bool(self.roles & roles)


def _req(message: str, permissions: Iterable[str] = (), roles: Iterable[str] = ()) -> Requirement:
    return Requirement(message, frozenset(permissions), frozenset(roles) | {GLOBAL_ADMINISTRATOR})


USERS_READ = _req(
    "User.Read.All is required to discover users and resolve requesters",
    {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
)
GROUPS_READ = _req(
    "GroupMember.Read.All is required to discover groups, members and owners",
    {"GroupMember.Read.All", "GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All"}
    | {"Directory.Read.All", "Directory.ReadWrite.All"},
)
GROUPS_WRITE = _req(
    "GroupMember.ReadWrite.All is required to add and remove group members and owners",
    {"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
    {GROUPS_ADMINISTRATOR, USER_ADMINISTRATOR, DIRECTORY_WRITERS},
)
ROLE_ASSIGNABLE_GROUPS = _req(
    "Privileged Role Administrator is required to change role-assignable groups "
    "(or the app permission RoleManagement.ReadWrite.Directory)",
    {"RoleManagement.ReadWrite.Directory"},
    {PRIVILEGED_ROLE_ADMINISTRATOR},
)
ROLES_READ = _req(
    "RoleManagement.Read.Directory is required to discover roles and read role assignments",
    {"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All"},
)
AU_READ = _req(
    "AdministrativeUnit.Read.All is required to discover administrative-unit scopes",
    {"AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All", "Directory.Read.All"},
)
ROLES_WRITE = _req(
    "RoleManagement.ReadWrite.Directory (or Privileged Role Administrator) is required to "
    "create and delete role assignments",
    {"RoleManagement.ReadWrite.Directory"},
    {PRIVILEGED_ROLE_ADMINISTRATOR},
)
PIM_ROLES = _req(
    "RoleAssignmentSchedule.ReadWrite.Directory is required for PIM role assignment requests",
    {"RoleAssignmentSchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"},
    {PRIVILEGED_ROLE_ADMINISTRATOR},
)
PIM_GROUPS = _req(
    "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup is required for PIM for Groups requests",
    {"PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"},
    {PRIVILEGED_ROLE_ADMINISTRATOR},
)
GUESTS_INVITE = _req(
    "User.Invite.All is required to invite external grantees as B2B guests (invite_guests)",
    {"User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"},
    {USER_ADMINISTRATOR},
)
USERS_DELETE = _req(
    "User.DeleteRestore.All (or User.ReadWrite.All) is required to delete the guests jitgate "
    "invited (user_cleanup_days)",
    {"User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All"},
    {USER_ADMINISTRATOR},
)


def requirements(
    *,
    resource_types: Iterable[str],
    grant_mode: GrantMode,
    role_assignable_groups: bool = True,
    invite_guests: bool = False,
    delete_users: bool = False,
) -> list[Requirement]:
    """What graph.md §10 says the enabled resource types, grant mode and guest settings need."""
    types = set(resource_types)
    needed = [USERS_READ]
    if invite_guests:
        needed.append(GUESTS_INVITE)
    if delete_users:
        needed.append(USERS_DELETE)
    if "entra-group" in types:
        needed.append(GROUPS_READ)
        needed.append(PIM_GROUPS if grant_mode == GrantMode.PIM else GROUPS_WRITE)
        if role_assignable_groups and grant_mode == GrantMode.DIRECT:
            needed.append(ROLE_ASSIGNABLE_GROUPS)
    if "entra-role" in types:
        needed += [ROLES_READ, AU_READ]
        needed.append(PIM_ROLES if grant_mode == GrantMode.PIM else ROLES_WRITE)
    return needed


@dataclass(frozen=True, slots=True)
class SelfCheckReport:
    """What the identity holds and the one-line fixes for what it lacks."""

    service_principal_id: str | None
    app_permissions: tuple[str, ...]
    directory_roles: tuple[str, ...]
    missing: tuple[str, ...]
    request_ids: tuple[str, ...]
    #: Whether writes to role-assignable groups are expected to work.
    can_manage_role_assignable_groups: bool

    @property
    def ok(self) -> bool:
        """Nothing is missing."""
        return not self.missing


def token_claims(token: str) -> dict[str, object]:
    """Our own access token's claims (unverified: informational, never for access decisions)."""
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def self_check(
    client: GraphClient,
    *,
    resource_types: Iterable[str] = ("entra-group", "entra-role"),
    grant_mode: GrantMode = GrantMode.DIRECT,
    role_assignable_groups: bool = True,
    invite_guests: bool = False,
    delete_users: bool = False,
) -> SelfCheckReport:
    """Compare the token's permissions and the SP's directory roles with what is needed."""
    claims = token_claims(await client.tokens.token())
    raw_roles = claims.get("roles")
    permissions = (
        frozenset(str(r) for r in raw_roles) if isinstance(raw_roles, list) else frozenset()
    )
    sp_id = str(claims["oid"]) if claims.get("oid") else None
    held: frozenset[str] = frozenset()
    ids: list[str] = []
    missing: list[str] = []
    if sp_id is not None:
        pager = Pager(
            client,
            "/roleManagement/directory/roleAssignments",
            params={"$filter": str(odata.eq("principalId", sp_id))},
        )
        try:
            held = frozenset(
                [
                    str(a.get("roleDefinitionId"))
                    async for a in pager.items()
                    if (a.get("directoryScopeId") or "/") == "/"
                ]
            )
        except GraphForbidden:
            missing.append(
                "RoleManagement.Read.Directory is required to read the directory roles "
                "the connector holds"
            )
        ids = pager.request_ids
    needed = requirements(
        resource_types=resource_types,
        grant_mode=grant_mode,
        role_assignable_groups=role_assignable_groups,
        invite_guests=invite_guests,
        delete_users=delete_users,
    )
    missing += [r.message for r in needed if not r.met(permissions, held)]
    return SelfCheckReport(
        service_principal_id=sp_id,
        app_permissions=tuple(sorted(permissions)),
        directory_roles=tuple(sorted(ROLE_NAMES.get(r, r) for r in held)),
        missing=tuple(dict.fromkeys(missing)),
        request_ids=tuple(ids),
        can_manage_role_assignable_groups=ROLE_ASSIGNABLE_GROUPS.met(permissions, held),
    )
