"""Which application permissions (the token's ``roles``) each Graph area needs (graph.md §10).

Each constant is the set of permissions any one of which is enough. A directory role held by the
calling service principal adds the permissions listed for it in ``ROLE_GRANTS``.
"""

from __future__ import annotations

import uuid

DIR_READ = frozenset({"Directory.Read.All", "Directory.ReadWrite.All"})
DIR_WRITE = frozenset({"Directory.ReadWrite.All"})
USER_READ = frozenset({"User.Read.All", "User.ReadWrite.All"}) | DIR_READ
USER_WRITE = frozenset({"User.ReadWrite.All"}) | DIR_WRITE
USER_INVITE = frozenset({"User.Invite.All", "User.ReadWrite.All"}) | DIR_WRITE
#: ``DELETE /users/{id}``: User.DeleteRestore.All is the least privileged (user-delete.md).
USER_DELETE = frozenset({"User.DeleteRestore.All"}) | USER_WRITE
GROUP_READ = (
    frozenset({"GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All"})
    | frozenset({"Group.ReadWrite.All"})
    | DIR_READ
)
MEMBER_WRITE = frozenset({"GroupMember.ReadWrite.All", "Group.ReadWrite.All"}) | DIR_WRITE
GROUP_WRITE = frozenset({"Group.ReadWrite.All"}) | DIR_WRITE
ROLE_WRITE = frozenset({"RoleManagement.ReadWrite.Directory"})
ROLE_READ = (
    frozenset({"RoleManagement.Read.Directory", "RoleManagement.Read.All"}) | ROLE_WRITE | DIR_READ
)
PIM_ROLE_WRITE = frozenset({"RoleAssignmentSchedule.ReadWrite.Directory"}) | ROLE_WRITE
PIM_ROLE_READ = frozenset({"RoleAssignmentSchedule.Read.Directory"}) | PIM_ROLE_WRITE | ROLE_READ
PIM_ELIG_WRITE = frozenset({"RoleEligibilitySchedule.ReadWrite.Directory"}) | ROLE_WRITE
PIM_ELIG_READ = frozenset({"RoleEligibilitySchedule.Read.Directory"}) | PIM_ELIG_WRITE | ROLE_READ
POLICY_READ = (
    frozenset({"RoleManagementPolicy.Read.Directory", "RoleManagementPolicy.ReadWrite.Directory"})
    | ROLE_READ
)
PIM_GROUP_WRITE = frozenset({"PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"})
PIM_GROUP_READ = frozenset({"PrivilegedAssignmentSchedule.Read.AzureADGroup"}) | PIM_GROUP_WRITE
PIM_GROUP_ELIG_WRITE = frozenset({"PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"})
PIM_GROUP_ELIG_READ = (
    frozenset({"PrivilegedEligibilitySchedule.Read.AzureADGroup"}) | PIM_GROUP_ELIG_WRITE
)
APP_WRITE = frozenset({"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"})
APP_READ = frozenset({"Application.Read.All"}) | APP_WRITE | DIR_READ
AU_READ = frozenset({"AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All"}) | DIR_READ
AU_WRITE = frozenset({"AdministrativeUnit.ReadWrite.All"}) | DIR_WRITE
ANY = frozenset({"*"})

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
GROUPS_ADMINISTRATOR = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
DIRECTORY_WRITERS = "9360feb5-f418-4baa-8175-e2a00bac4301"

_READ_ALL = {"Directory.Read.All"}
ROLE_GRANTS: dict[str, frozenset[str]] = {
    GLOBAL_ADMINISTRATOR: frozenset({"*"}),
    PRIVILEGED_ROLE_ADMINISTRATOR: frozenset(
        {
            "RoleManagement.ReadWrite.Directory",
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
            "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
            "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup",
            "RoleManagementPolicy.Read.Directory",
            "Role-assignable groups",
        }
    ),
    GROUPS_ADMINISTRATOR: frozenset({"GroupMember.ReadWrite.All", "Group.ReadWrite.All"}),
    USER_ADMINISTRATOR: frozenset({"User.ReadWrite.All", "GroupMember.ReadWrite.All"}),
    DIRECTORY_WRITERS: frozenset({"GroupMember.ReadWrite.All"}),
    DIRECTORY_READERS: frozenset(_READ_ALL),
    GLOBAL_READER: frozenset(_READ_ALL),
}
"""Permissions a service principal gains from a directory role it holds at tenant scope."""

ROLE_ASSIGNABLE_MARK = "Role-assignable groups"
"""Pseudo-permission: the SP holds a role that may manage role-assignable groups."""

APP_ROLE_IDS: dict[str, str] = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    "RoleManagement.ReadWrite.Directory": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "User.Invite.All": "09850681-111b-4a89-9bed-3f2cae46d706",
    "User.DeleteRestore.All": "eccc023d-eccf-4e7b-9683-8813ab36cecc",
}
"""Microsoft Graph app role ids for the permissions we know; others get a stable UUIDv5."""

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def app_role_id(permission: str) -> str:
    """Return the Graph app role id of ``permission`` (real where known, else a stable UUIDv5)."""
    known = APP_ROLE_IDS.get(permission)
    if known:
        return known
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://graph.microsoft.com/approle/{permission}"))


def effective(token_roles: list[str], held_roles: set[str]) -> frozenset[str]:
    """Return the permissions of a caller: its app permissions plus those of its directory roles."""
    granted = set(token_roles)
    for role_id in held_roles:
        granted |= ROLE_GRANTS.get(role_id, frozenset())
    return frozenset(granted)


def allowed(perms: frozenset[str], needed: frozenset[str]) -> bool:
    """Return whether ``perms`` satisfies any one permission of ``needed``."""
    return "*" in perms or needed is ANY or not perms.isdisjoint(needed)
