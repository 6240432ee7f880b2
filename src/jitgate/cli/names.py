"""Names for the ids in a listing: people read who, what and why, not bare object ids.

The API's grant and standing-membership rows carry ids; a table for people puts the grantee's
UPN, the resource's and integration's names and the request's justification next to them. Each
distinct id is looked up once; an id the caller may not look up (or that is gone) stays as it is.
``-o json`` prints the API's rows unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.cli import resolve
from jitgate.cli.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jitgate.cli.client import ApiClient

UNTIL_REVOKED = "until revoked"


def _maybe(client: ApiClient, path: str) -> dict[str, Any] | None:
    try:
        found = client.get(path)
    except ApiError:
        return None
    return found if isinstance(found, dict) else None


def requests_by_id(client: ApiClient, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The access requests behind grants (those the caller may read)."""
    found = {rid: _maybe(client, f"/requests/{rid}") for rid in sorted(set(ids))}
    return {rid: row for rid, row in found.items() if row is not None}


def people_by_ref(client: ApiClient, refs: Iterable[str]) -> dict[str, str]:
    """A UPN for each person reference (id or Entra object id) the server knows."""
    found = {ref: _maybe(client, f"/identities/{ref}") for ref in sorted(set(refs))}
    return {ref: str(row["upn"]) for ref, row in found.items() if row is not None}


def integrations_by_id(client: ApiClient) -> dict[str, str]:
    """Every integration's name by id."""
    return {str(i["id"]): str(i["name"]) for i in client.get("/integrations")}


def resources_by_id(client: ApiClient, integration_ids: Iterable[str]) -> dict[str, str]:
    """The names of the resources of the given integrations, by resource id."""
    names: dict[str, str] = {}
    for integration_id in sorted(set(integration_ids)):
        try:
            rows = list(resolve.pages(client, f"/integrations/{integration_id}/resources"))
        except ApiError:
            continue
        names.update({str(r["id"]): str(r["name"]) for r in rows})
    return names


def grant_rows(client: ApiClient, grants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grants as who (grantee), what (resource, permission), until when and why.

    A grant is ended, extended or revoked through its request, so the row names the request.
    """
    requests = requests_by_id(client, (g["request_id"] for g in grants))
    rows = []
    for grant in grants:
        request = requests.get(grant["request_id"], {})
        unit: dict[str, Any] = next(
            (u for u in request.get("units", []) if u.get("resource_id") == grant["resource_id"]),
            {},
        )
        grantee = request.get("grantee") or {}
        rows.append(
            {
                "request_id": grant["request_id"],
                "status": grant["status"],
                "who": grantee.get("upn") or grant["identity_id"],
                "what": f"{unit.get('resource_name') or grant['resource_id']} "
                f"({grant['permission']})",
                "until": grant.get("ended_at") or grant.get("ends_at") or UNTIL_REVOKED,
                "why": request.get("justification") or "",
                # why access could not be given or removed (a refused revocation keeps access)
                "problem": grant.get("last_error") or "",
            }
        )
    return rows


def standing_rows(client: ApiClient, standing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Standing memberships with the resource, integration and member named."""
    integrations = integrations_by_id(client) if standing else {}
    resources = resources_by_id(client, (s["integration_id"] for s in standing))
    people = people_by_ref(client, (s["principal_id"] for s in standing))
    return [
        {
            "id": row["id"],
            "resource": f"{resources.get(row['resource_id'], row['resource_id'])} "
            f"({row['permission']})",
            "member": people.get(row["principal_id"], row["principal_id"]),
            "integration": integrations.get(row["integration_id"], row["integration_id"]),
            "source": row["source"],
            "allowed": row["allowed"],
            "removed_at": row.get("removed_at"),
        }
        for row in standing
    ]
