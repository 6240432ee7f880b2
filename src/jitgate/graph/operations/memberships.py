"""Group memberships of interest: which users are (transitively) in a few named groups.

Reading every user's ``memberOf`` costs one request per user (100k users: 100k requests), so
discovery reads memberships only for the groups access flows and integration owners name. For
each group: ``GET /groups/{id}/transitiveMembers/microsoft.graph.user?$select=id&$top=999``
(graph.md §3.1: transitive flattens nesting; the cast keeps users only). Casts on members are
advanced queries (graph.md §3.1), so every request carries ``ConsistencyLevel: eventual`` and
``$count=true``; headers are not carried into nextLinks, so later pages re-send it.

Requests: the first page of every group goes through ``$batch`` (20 groups a round trip); a group
with more than 999 users continues on its nextLinks. Names are resolved first with
``$filter=displayName eq '...'`` (``$batch`` again); a name may match several groups (all count).
A group that no longer exists (404) has no members. Memory: one list of group ids per member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jitgate.graph import odata
from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.errors import GraphNotFound
from jitgate.graph.paging import Pager

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from jitgate.graph.batch import BatchResult
    from jitgate.graph.client import GraphClient

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
EVENTUAL = {"ConsistencyLevel": "eventual"}
MEMBERS_QUERY = "$select=id&$top=999&$count=true"


@dataclass
class Memberships:
    """User id -> ids of the groups of interest the user is (transitively) in."""

    groups: dict[str, str] = field(default_factory=dict)  # group id -> display name (if known)
    by_user: dict[str, list[str]] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)

    def pop(self, user_id: str) -> list[str]:
        """The user's groups of interest (and forget them: what is left was not reported)."""
        return self.by_user.pop(user_id, [])


def _results(results: Sequence[BatchResult], found: Memberships) -> None:
    for result in results:
        if result.request_id:
            found.request_ids.append(result.request_id)
        if result.error is not None and not isinstance(result.error, GraphNotFound):
            raise result.error


async def _resolve_names(client: GraphClient, names: Sequence[str], found: Memberships) -> None:
    requests = [
        BatchRequest(
            "GET",
            f"/groups?$filter={quote(str(odata.eq('displayName', name)))}&$select=id,displayName",
        )
        for name in names
    ]
    results = await BatchExecutor(client).execute(requests)
    _results(results, found)
    for result in results:
        for group in (result.body or {}).get("value") or () if result.ok else ():
            found.groups[str(group["id"])] = str(group.get("displayName") or "")


def _add(found: Memberships, group_id: str, page: Iterable[dict[str, Any]]) -> None:
    for obj in page:
        groups = found.by_user.setdefault(str(obj["id"]), [])
        if group_id not in groups:
            groups.append(group_id)


async def _read_members(client: GraphClient, group_ids: Sequence[str], found: Memberships) -> None:
    requests = [
        BatchRequest(
            "GET",
            f"/groups/{gid}/transitiveMembers/microsoft.graph.user?{MEMBERS_QUERY}",
            headers=EVENTUAL,
        )
        for gid in group_ids
    ]
    results = await BatchExecutor(client).execute(requests)
    _results(results, found)
    for gid, result in zip(group_ids, results, strict=True):
        if not result.ok:
            continue  # 404: the group is gone, it has no members
        body = result.body or {}
        _add(found, gid, body.get("value") or ())
        next_link = body.get("@odata.nextLink")
        if next_link:
            pager = Pager(client, str(next_link), headers=EVENTUAL)
            async for page in pager:
                _add(found, gid, page)
            found.request_ids += pager.request_ids


async def read_memberships(client: GraphClient, refs: Iterable[str]) -> Memberships:
    """The users of every group named in ``refs`` (object ids or display names)."""
    found = Memberships()
    ids = sorted({r.lower() for r in refs if GUID.match(r)})
    names = sorted({r for r in refs if r and not GUID.match(r)})
    for gid in ids:
        found.groups.setdefault(gid, "")
    if names:
        await _resolve_names(client, names, found)
    if found.groups:
        await _read_members(client, sorted(found.groups), found)
    return found
