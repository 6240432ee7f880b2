"""Built-in Entra role definitions with their real template ids (graph.md §4.1).

For built-in roles ``id == templateId``. A fixture may add custom definitions or restrict the set.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

from typing import Any

from jitgate.emulator.graph_common import GUID

BUILTIN: dict[str, tuple[str, str, list[str]]] = {
    "Global Administrator": (
        "62e90394-69f5-4237-9190-012177145e10",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
        ["microsoft.directory/allEntities/allProperties/allTasks"],
    ),
    "Privileged Role Administrator": (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
        [
            "microsoft.directory/roleAssignments/allProperties/allTasks",
            "microsoft.directory/privilegedIdentityManagement/allProperties/allTasks",
        ],
    ),
    "User Administrator": (
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
        [
            "microsoft.directory/users/allProperties/allTasks",
            "microsoft.directory/groups/members/update",
        ],
    ),
    "Groups Administrator": (
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.",
        ["microsoft.directory/groups/allProperties/allTasks"],
    ),
    "Helpdesk Administrator": (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Can reset passwords for non-administrators and Helpdesk Administrators.",
        ["microsoft.directory/users/password/update"],
    ),
    "Directory Readers": (
        "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        "Can read basic directory information. Commonly used to grant directory read access to applications and guests.",
        ["microsoft.directory/users/standard/read"],
    ),
    "Global Reader": (
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "Can read everything that a Global Administrator can, but not update anything.",
        ["microsoft.directory/allEntities/allProperties/read"],
    ),
    "Security Administrator": (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.",
        ["microsoft.directory/policies/security/allTasks"],
    ),
    "Application Administrator": (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Can create and manage all aspects of app registrations and enterprise apps.",
        ["microsoft.directory/applications/allProperties/allTasks"],
    ),
    "Billing Administrator": (
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Can perform common billing related tasks like updating payment information.",
        ["microsoft.commerce.billing/allEntities/allTasks"],
    ),
    "Directory Writers": (
        "9360feb5-f418-4baa-8175-e2a00bac4301",
        "Can read and write basic directory information. For granting access to applications, not intended for users.",
        ["microsoft.directory/groups/members/update"],
    ),
    "Identity Governance Administrator": (
        "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e",
        "Manage access using Microsoft Entra ID for identity governance scenarios.",
        ["microsoft.directory/accessReviews/allProperties/allTasks"],
    ),
    "Cloud Application Administrator": (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
        ["microsoft.directory/applications/allProperties/allTasks"],
    ),
    "Authentication Administrator": (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Can access to view, set and reset authentication method information for any non-admin user.",
        ["microsoft.directory/users/authenticationMethods/standard/read"],
    ),
    "Exchange Administrator": (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Can manage all aspects of the Exchange product.",
        ["microsoft.office365.exchange/allEntities/basic/allTasks"],
    ),
    "Intune Administrator": (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Can manage all aspects of the Intune product.",
        ["microsoft.intune/allEntities/allTasks"],
    ),
}


def template_id(name_or_id: str) -> str:
    """Return the template id of a built-in role given its display name (ids pass through)."""
    if GUID.match(name_or_id):
        return name_or_id.lower()
    found = BUILTIN.get(name_or_id)
    if found is None:
        raise ValueError(f"unknown built-in role {name_or_id!r}")
    return found[0]


def definitions(custom: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Return the built-in definitions plus any custom ones from a fixture."""
    out = [
        {
            "id": role_id,
            "description": description,
            "displayName": name,
            "isBuiltIn": True,
            "isEnabled": True,
            "resourceScopes": ["/"],
            "templateId": role_id,
            "version": "1",
            "rolePermissions": [{"allowedResourceActions": actions, "condition": None}],
            "inheritsPermissionsFrom": [{"id": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"}],
        }
        for name, (role_id, description, actions) in BUILTIN.items()
    ]
    out.extend(
        {
            "isBuiltIn": False,
            "isEnabled": True,
            "rolePermissions": [],
            "inheritsPermissionsFrom": [],
            "version": None,
            **item,
            "templateId": item.get("templateId", item["id"]),
        }
        for item in custom or []
    )
    return out
