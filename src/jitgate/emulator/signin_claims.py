"""The user claims of an id token that depend on the app: ``roles``, ``groups`` and overage.

``roles`` are the values of the app roles assigned to the user on the app's service principal,
directly or through (nested) group membership; absent when there are none. ``groups`` (only when
the app's ``groupMembershipClaims`` asks) are the security groups the user belongs to,
transitively; beyond ``GROUP_OVERAGE_LIMIT`` the claim gives way to ``_claim_names`` /
``_claim_sources`` pointing at Graph's ``getMemberObjects``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jitgate.emulator.store import Tenant

GROUP_OVERAGE_LIMIT = 200


def app_roles(tenant: Tenant, app_id: str, user_id: str) -> list[str]:
    """Return the sorted app role values ``user_id`` holds on the app ``app_id``."""
    sp_id = tenant.sp_by_appid.get(app_id)
    app = tenant.applications.get(tenant.app_by_appid.get(app_id, ""))
    if sp_id is None or app is None:
        return []
    by_id = {role["id"]: role["value"] for role in app.get("appRoles") or []}
    principals = {user_id} | tenant.transitive_groups(user_id)
    return sorted(
        {
            by_id[assignment["appRoleId"]]
            for assignment in tenant.app_role_assignments
            if assignment["resourceId"] == sp_id
            and assignment["principalId"] in principals
            and assignment["appRoleId"] in by_id
        }
    )


def _group_ids(tenant: Tenant, user_id: str, wanted: str) -> list[str]:
    groups = tenant.transitive_groups(user_id)
    if wanted.lower() == "securitygroup":
        groups = {g for g in groups if tenant.groups.get(g, {}).get("securityEnabled")}
    return sorted(groups)


def user_claims(tenant: Tenant, app_id: str, user_id: str) -> dict[str, Any]:
    """Return ``roles`` and ``groups`` (or the overage claims) for an id token."""
    claims: dict[str, Any] = {}
    roles = app_roles(tenant, app_id, user_id)
    if roles:
        claims["roles"] = roles
    app = tenant.applications.get(tenant.app_by_appid.get(app_id, ""))
    wanted = str((app or {}).get("groupMembershipClaims") or "None")
    if wanted.lower() in {"securitygroup", "all", "applicationgroup"}:
        groups = _group_ids(tenant, user_id, wanted)
        if len(groups) > GROUP_OVERAGE_LIMIT:
            claims["_claim_names"] = {"groups": "src1"}
            claims["_claim_sources"] = {
                "src1": {
                    "endpoint": f"https://graph.microsoft.com/v1.0/users/{user_id}/getMemberObjects"
                }
            }
        else:
            claims["groups"] = groups
    return claims


def requested_acrs(claims_param: str | None) -> list[str]:
    """Return the auth context values an authorize ``claims`` parameter asks for in the id token."""
    if not claims_param:
        return []
    try:
        request = json.loads(claims_param)
    except ValueError:
        return []
    id_token = request.get("id_token") if isinstance(request, dict) else None
    acrs = id_token.get("acrs") if isinstance(id_token, dict) else None
    if not isinstance(acrs, dict):
        return []
    values: list[str] = []
    if isinstance(acrs.get("value"), str):
        values.append(acrs["value"])
    listed = acrs.get("values")
    if isinstance(listed, list):
        values.extend(v for v in listed if isinstance(v, str))
    return list(dict.fromkeys(values))
