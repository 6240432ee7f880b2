"""Resolve a principal given as an object id, a UPN or a mail address (guests included).

An object id is looked up as a user, a group and a service principal in one ``$batch`` round
trip. Anything else is matched against ``userPrincipalName`` and ``mail`` with an escaped
filter, so a guest's ``alice_contoso.com#EXT#@tenant.onmicrosoft.com`` UPN, their
``alice@contoso.com`` mail, and names with quotes (``o'brien@...``) all work.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from jitgate.graph import odata
from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.errors import GraphNotFound
from jitgate.graph.operations.models import Principal, PrincipalKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jitgate.graph.client import GraphClient

USER_FIELDS = "id,displayName,userPrincipalName,mail,userType,accountEnabled"
_BY_ID = (
    (PrincipalKind.USER, "/users/{id}?$select=" + USER_FIELDS),
    (PrincipalKind.GROUP, "/groups/{id}?$select=id,displayName,mail"),
    (PrincipalKind.SERVICE_PRINCIPAL, "/servicePrincipals/{id}?$select=id,displayName,appId"),
)


def _principal(kind: PrincipalKind, obj: Mapping[str, Any], ids: tuple[str, ...]) -> Principal:
    return Principal(
        id=str(obj["id"]),
        kind=kind,
        display_name=obj.get("displayName"),
        user_principal_name=obj.get("userPrincipalName"),
        mail=obj.get("mail"),
        user_type=obj.get("userType"),
        request_ids=ids,
    )


async def resolve_principal(client: GraphClient, ref: str) -> Principal:
    """Find the user, group or service principal ``ref`` names; ``GraphNotFound`` if none."""
    ref = ref.strip()
    try:
        object_id = str(uuid.UUID(ref))
    except ValueError:
        return await _by_name(client, ref)
    requests = [BatchRequest("GET", path.format(id=object_id)) for _, path in _BY_ID]
    results = await BatchExecutor(client).execute(requests)
    ids = tuple(r.request_id for r in results if r.request_id)
    for (kind, _), result in zip(_BY_ID, results, strict=True):
        if result.ok and isinstance(result.body, dict):
            return _principal(kind, result.body, ids)
    for result in results:
        if result.error is not None and not isinstance(result.error, GraphNotFound):
            raise result.error
    raise GraphNotFound(f"no user, group or service principal has id {object_id}", code="NotFound")


async def _by_name(client: GraphClient, name: str) -> Principal:
    flt = odata.or_(odata.eq("userPrincipalName", name), odata.eq("mail", name))
    response = await client.request(
        "GET", "/users", params={"$filter": str(flt), "$select": USER_FIELDS}
    )
    ids = (response.request_id,) if response.request_id else ()
    values = (response.body or {}).get("value") or []
    exact = [v for v in values if str(v.get("userPrincipalName", "")).lower() == name.lower()]
    chosen = exact or values
    if not chosen:
        raise GraphNotFound(
            f"no user has UPN or mail {name!r}", code="NotFound", request_id=ids[0] if ids else None
        )
    return _principal(PrincipalKind.USER, chosen[0], ids)
