"""Direct members of one group by delta query: every member once, then only what changed.

``GET /groups/delta?$filter=id eq '{id}'&$select=members`` (graph.md §7). The first (initial)
round lists the group with every direct member in ``members@delta``; it ends with an
``@odata.deltaLink``. A round started from that link lists the group only if something changed,
with added members and removed ones (``"@removed"``) since the link was issued. A large group
comes back split over several entries of the same group, across pages (some pages may be empty
and only carry a nextLink): the chunks are merged, later entries win for a member listed twice.

Parity with ``groups.list_group_members`` (the full read of ``/groups/{id}/members``): direct
members of every kind (users, nested groups as one member, service principals, devices), never
flattened; entries carry ``id`` and ``@odata.type`` but no ``userPrincipalName``. A group that
does not exist (not listed by the initial round, or ``@removed`` in a later one) raises
``GraphNotFound`` as the full read's 404 does.

A link Graph refuses (410 Gone, a 40x with ``syncStateNotFound``/``resyncRequired``, a 400 on the
token) or one not on the client's Graph host (never followed: it would carry our token elsewhere)
starts a full round instead, reported as ``full=True, restarted=True``. Delta tracks ``members``
only; owners and role assignments have no delta and keep the full read.

Cost: an unchanged group is one request per round; a full member read is
``ceil(members / 999)`` pages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from jitgate.graph import odata
from jitgate.graph.errors import GraphBadRequest, GraphError, GraphGone, GraphNotFound
from jitgate.graph.operations.groups import guid, parse_ref
from jitgate.graph.paging import Pager

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jitgate.graph.client import GraphClient
    from jitgate.graph.operations.models import DirectoryObjectRef

#: Error codes Graph uses for a delta token it no longer accepts (graph.md §7, §9).
RESYNC_CODES = frozenset({"syncStateNotFound", "syncStateInvalid", "resyncRequired"})


@dataclass(frozen=True, slots=True)
class MemberDelta:
    """One delta round over a group's direct members."""

    full: bool
    """``True``: ``present`` is every direct member; ``False``: only the changes."""
    present: tuple[DirectoryObjectRef, ...]
    """Every member (a full round) or the members added since the link (a delta round)."""
    removed: tuple[DirectoryObjectRef, ...]
    """Members removed since the link (always empty in a full round)."""
    delta_link: str | None
    request_ids: tuple[str, ...]
    restarted: bool = False
    """A link was given but refused (or not Graph's): this is a full round in its place."""


def is_refused_link(err: GraphError) -> bool:
    """Whether ``err`` says the delta link is no longer usable (a full round must follow)."""
    return isinstance(err, GraphGone | GraphBadRequest) or err.code in RESYNC_CODES


def is_graph_link(client: GraphClient, link: str) -> bool:
    """Whether ``link`` points at the client's Graph host (scheme, host and port)."""
    ours, theirs = urlsplit(client.url("/")), urlsplit(link)
    return (ours.scheme, ours.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())


async def read_member_delta(
    client: GraphClient, group_id: str, delta_link: str | None = None
) -> MemberDelta:
    """A group's direct members: all of them without ``delta_link``, else the changes since."""
    gid = guid(group_id, "group id")
    if delta_link is None:
        return await _round(client, gid, None)
    if not is_graph_link(client, delta_link):
        return replace(await _round(client, gid, None), restarted=True)
    try:
        return await _round(client, gid, delta_link)
    except GraphError as err:
        if not is_refused_link(err):
            raise
        refused = (err.request_id,) if err.request_id else ()
    found = await _round(client, gid, None)
    return replace(found, restarted=True, request_ids=refused + found.request_ids)


async def _round(client: GraphClient, gid: str, link: str | None) -> MemberDelta:
    if link is None:
        params = {"$filter": str(odata.eq("id", gid)), "$select": "members"}
        pager = Pager(client, "/groups/delta", params=params)
    else:
        pager = Pager(client, link)
    present: dict[str, DirectoryObjectRef] = {}
    removed: dict[str, DirectoryObjectRef] = {}
    listed = False
    async for page in pager:
        for obj in page:
            if str(obj.get("id", "")).lower() != gid:
                continue  # the filter names one group; ignore anything else
            if "@removed" in obj:
                raise GraphNotFound(
                    f"group {gid} was deleted", code="Request_ResourceNotFound", http_status=404
                )
            listed = True
            _merge(obj.get("members@delta") or (), present, removed)
    if link is None and not listed:
        raise GraphNotFound(
            f"group {gid} does not exist", code="Request_ResourceNotFound", http_status=404
        )
    full = link is None
    return MemberDelta(
        full=full,
        present=tuple(present.values()),
        removed=() if full else tuple(removed.values()),
        delta_link=pager.delta_link,
        request_ids=tuple(pager.request_ids),
    )


def _merge(
    refs: Iterable[object],
    present: dict[str, DirectoryObjectRef],
    removed: dict[str, DirectoryObjectRef],
) -> None:
    for ref in refs:
        if not isinstance(ref, dict) or not ref.get("id"):
            continue
        parsed = parse_ref(ref)
        if "@removed" in ref:
            present.pop(parsed.id, None)
            removed[parsed.id] = parsed
        else:
            removed.pop(parsed.id, None)
            present[parsed.id] = parsed
