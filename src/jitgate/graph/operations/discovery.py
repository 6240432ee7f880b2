"""Discovery: stream users and groups (full, then delta), role definitions, administrative units.

Streaming: ``DirectorySync`` is an async iterator of ``User``/``Group`` records and ``Removed``
tombstones, one Graph page at a time, so 100k users and 50k groups pass through in bounded
memory. After the iteration ``delta_link`` holds the link for the next (delta) round.

A full sync takes a ``$deltatoken=latest`` link *first* and then lists the collection with
``$top=999`` pages (groups: 100, see Owners), fewer calls than an initial delta round.
Anything that changes while the listing runs is replayed by the next delta round; replays are
harmless because the consumer upserts.

Owners: the full group listing reads
``/groups?$select=...&$expand=owners($select=id,userPrincipalName)``. Graph documents, for the
group ``owners`` relationship, "Supports $expand including nested $select"
(learn.microsoft.com group resource / Get-MgGroupOwner); for directory objects ``$expand``
"typically returns a maximum of 20 items for the expanded relationship and has no
@odata.nextLink" (microsoft-graph-docs-contrib ``concepts/query-parameters.md``, "expand
parameter"); and a page with ``$expand`` holds at most 100 objects whatever ``$top`` says
(microsoftgraph/microsoft-graph-docs#21506 and #21516, the "query parameters" known issue). So
the listing asks for pages of 100, and only a group showing 20 owners (maybe cut), or one whose
listing lacks ``owners`` altogether (an expansion not honoured), is re-read through ``$batch``
owner reads, 20 groups per call. Group delta supports neither ``$expand=owners`` nor owner
tracking, so each group a delta round reports is re-read with its owners through ``$batch``.

Managers: the full user listing reads ``/users?$select=...&$expand=manager($select=id)`` ("GET
/users?$expand=manager" and "$select inside $expand", learn.microsoft.com "List manager"), so it
pages by 100 too (one relationship per request, the same 100-object cap). The ``$deltatoken=latest``
link is taken with ``manager`` in ``$select``: users delta "supports manager ... navigation
properties ... Selecting those properties allows tracking of changes to user's manager"
(delta-query-overview), reported as ``manager@delta``; no re-read is needed. A delta link taken
before this (without ``manager``) does not report manager changes until the next full sync.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.operations.groups import group_select, parse_group
from jitgate.graph.operations.member_delta import is_graph_link
from jitgate.graph.operations.models import Group, Removed, User
from jitgate.graph.paging import Pager

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Mapping, Sequence

    from jitgate.graph.client import GraphClient

log = logging.getLogger(__name__)
USER_SELECT = "id,displayName,userPrincipalName,mail,userType,accountEnabled,onPremisesSyncEnabled"
USER_DELTA_SELECT = f"{USER_SELECT},manager"  # users delta tracks the manager when selected
MANAGER_EXPAND = "manager($select=id)"
OWNER_SELECT = "id,userPrincipalName"
EXPAND_LIMIT = 20  # objects per expanded relationship, no nextLink
PAGE = "999"
EXPAND_PAGE = "100"  # Graph's page-size cap when a request has $expand


def _manager_id(obj: Mapping[str, Any], *, expanded: bool) -> str | None:
    """The manager's id: from ``manager`` (expanded listing) or ``manager@delta`` (delta).

    ``""`` means read and none: an expanded user without ``manager``, or a ``manager@delta``
    without a live entry. ``None`` means not read (a delta entry without the annotation).
    """
    if "manager@delta" in obj:
        alive = [m for m in obj["manager@delta"] or () if "@removed" not in m and m.get("id")]
        return str(alive[-1]["id"]) if alive else ""
    manager = obj.get("manager")
    if isinstance(manager, dict) and manager.get("id"):
        return str(manager["id"])
    return "" if expanded else None


def parse_user(obj: Mapping[str, Any], *, expanded: bool = False) -> User:
    """A ``User`` from a Graph user object (``expanded``: listed with ``$expand=manager``)."""
    return User(
        id=str(obj["id"]),
        user_principal_name=obj.get("userPrincipalName"),
        display_name=obj.get("displayName"),
        mail=obj.get("mail"),
        user_type=obj.get("userType"),
        account_enabled=obj.get("accountEnabled"),
        on_premises_sync_enabled=obj.get("onPremisesSyncEnabled"),
        manager_id=_manager_id(obj, expanded=expanded),
    )


def _owner_names(owners: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(str(o.get("userPrincipalName") or o["id"]) for o in owners)


class DirectorySync:
    """One discovery round over users or groups (full when ``delta_link`` is ``None``)."""

    def __init__(
        self,
        client: GraphClient,
        *,
        kind: str,
        delta_link: str | None = None,
        tag_attributes: Sequence[str] = (),
    ) -> None:
        if kind not in {"users", "groups"}:
            raise ValueError("discovery covers users and groups")
        self._client = client
        self._kind = kind
        if delta_link is not None and not is_graph_link(client, delta_link):
            # The link came from the server; following it would send our token to that host.
            log.warning(
                "delta link is not on the Graph host; reading in full", extra={"kind": kind}
            )
            delta_link = None
        self._start_link = delta_link
        self._tags = tuple(tag_attributes)
        self.delta_link: str | None = None
        self.request_ids: list[str] = []
        self.seen = 0
        self.removed = 0

    @property
    def select(self) -> str:
        """Fields read for this kind."""
        return USER_SELECT if self._kind == "users" else group_select(self._tags)

    def __aiter__(self) -> AsyncIterator[User | Group | Removed]:
        return self._run()

    async def _run(self) -> AsyncIterator[User | Group | Removed]:
        if self._start_link is None:
            async for item in self._full():
                yield item
        else:
            async for item in self._delta(self._start_link):
                yield item

    async def _full(self) -> AsyncIterator[User | Group | Removed]:
        latest = Pager(
            self._client,
            f"/{self._kind}/delta",
            params={
                "$select": USER_DELTA_SELECT if self._kind == "users" else self.select,
                "$deltatoken": "latest",
            },
        )
        async for _ in latest:
            pass
        self.request_ids += latest.request_ids
        params = {"$select": self.select, "$top": PAGE}
        if self._kind == "users":
            params.update({"$top": EXPAND_PAGE, "$expand": MANAGER_EXPAND})
        else:
            params.update({"$top": EXPAND_PAGE, "$expand": f"owners($select={OWNER_SELECT})"})
        pager = Pager(self._client, f"/{self._kind}", params=params)
        async for page in pager:
            if self._kind == "users":
                for obj in page:
                    self.seen += 1
                    yield parse_user(obj, expanded=True)
            else:
                for group in await self._groups_from_listing(page):
                    self.seen += 1
                    yield group
        self.request_ids += pager.request_ids
        self.delta_link = latest.delta_link

    async def _groups_from_listing(self, page: list[dict[str, Any]]) -> list[Group]:
        # Re-read owners only where the expansion may be cut at 20, or was not honoured at all.
        full = [
            o["id"] for o in page if "owners" not in o or len(o["owners"] or ()) >= EXPAND_LIMIT
        ]
        owners = await self._owners(full) if full else {}
        return [
            parse_group(o, self._tags, owners.get(o["id"], _owner_names(o.get("owners") or ())))
            for o in page
        ]

    async def _owners(self, group_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Every owner of each group (``$batch``, 20 groups per call)."""
        requests = [
            BatchRequest("GET", f"/groups/{gid}/owners?$select={OWNER_SELECT}&$top=999")
            for gid in group_ids
        ]
        results = await BatchExecutor(self._client).execute(requests)
        found: dict[str, tuple[str, ...]] = {}
        for gid, result in zip(group_ids, results, strict=True):
            if result.request_id:
                self.request_ids.append(result.request_id)
            if result.error is not None:
                raise result.error
            found[gid] = _owner_names((result.body or {}).get("value") or ())
        return found

    async def _delta(self, link: str) -> AsyncIterator[User | Group | Removed]:
        pager = Pager(self._client, link)
        async for page in pager:
            changed: list[dict[str, Any]] = []
            for obj in page:
                removed = obj.get("@removed")
                if removed is not None:
                    self.removed += 1
                    yield Removed(str(obj["id"]), str(removed.get("reason", "deleted")))
                elif self._kind == "users":
                    self.seen += 1
                    yield parse_user(obj)
                else:
                    changed.append(obj)
            if changed:
                owners = await self._owners([o["id"] for o in changed])
                for obj in changed:
                    self.seen += 1
                    yield parse_group(obj, self._tags, owners.get(obj["id"], ()))
        self.request_ids += pager.request_ids
        self.delta_link = pager.delta_link


def discover_users(client: GraphClient, *, delta_link: str | None = None) -> DirectorySync:
    """Stream users: a full sync without ``delta_link``, else the changes since it."""
    return DirectorySync(client, kind="users", delta_link=delta_link)


def discover_groups(
    client: GraphClient, *, delta_link: str | None = None, tag_attributes: Sequence[str] = ()
) -> DirectorySync:
    """Stream groups with owners and tags: full without ``delta_link``, else the changes."""
    return DirectorySync(
        client, kind="groups", delta_link=delta_link, tag_attributes=tag_attributes
    )
