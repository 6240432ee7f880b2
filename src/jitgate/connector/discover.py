"""Discovery: stream the directory into pages of protocol items, then a small final result.

Memory stays bounded: items are posted (``pages``) as each page fills, so a 100k-user tenant
never sits in memory at once. Users are always read; groups when ``entra-group`` is enabled; role
definitions and administrative units when ``entra-role`` is.

Managers come with every user (``manager_id``). Group memberships are read only for the groups the
job names (``member_groups``: the groups flows and integration owners refer to), before the users;
each user item carries its groups of interest (``group_ids``, ``[]`` for none), and the members the
round did not otherwise read (a delta round reads only changed users) follow as
``membership_only`` items, so the server sees every membership of interest in every round.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from jitgate.graph.operations import discovery, memberships, roles
from jitgate.graph.operations.models import Group, Removed, User
from jitgate.protocol.v1 import (
    DiscoverData,
    DiscoveredAdministrativeUnit,
    DiscoveredGroup,
    DiscoveredItem,
    DiscoveredRole,
    DiscoveredUser,
    DiscoverPayload,
    JobResult,
    JobSpec,
    Outcome,
    RemovedObject,
    ResourceType,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from jitgate.graph.client import GraphClient


def _user(user: User, found: memberships.Memberships | None) -> DiscoveredUser:
    return DiscoveredUser(
        id=user.id,
        user_principal_name=user.user_principal_name,
        display_name=user.display_name,
        mail=user.mail,
        user_type=user.user_type,
        account_enabled=user.account_enabled,
        manager_id=user.manager_id,
        group_ids=found.pop(user.id) if found is not None else None,
    )


def _group(group: Group) -> DiscoveredGroup:
    tags = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.tags.items()}
    return DiscoveredGroup(
        id=group.id,
        display_name=group.display_name,
        description=group.description,
        mail=group.mail,
        mail_enabled=group.mail_enabled,
        security_enabled=group.security_enabled,
        group_types=list(group.group_types),
        is_assignable_to_role=group.is_assignable_to_role,
        on_premises_sync_enabled=group.on_premises_sync_enabled,
        owners=list(group.owners),
        tags=tags,
    )


class _Pager:
    def __init__(
        self,
        spec: JobSpec,
        size: int,
        sink: Callable[[JobSpec, int, list[DiscoveredItem]], Awaitable[None]],
    ) -> None:
        self.spec = spec
        self.size = size
        self.sink = sink
        self.buffer: list[DiscoveredItem] = []
        self.pages = 0
        self.counts: Counter[str] = Counter()

    async def add(self, item: DiscoveredItem) -> None:
        self.buffer.append(item)
        self.counts[item.type] += 1
        if len(self.buffer) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        if self.buffer:
            await self.sink(self.spec, self.pages, self.buffer)
            self.pages += 1
            self.buffer = []


async def _sync_items(
    sync: discovery.DirectorySync, kind: str, found: memberships.Memberships | None = None
) -> AsyncIterator[DiscoveredItem]:
    async for item in sync:
        if isinstance(item, Removed):
            yield RemovedObject(id=item.id, object_type="user" if kind == "users" else "group")
        elif isinstance(item, User):
            yield _user(item, found)
        else:
            yield _group(item)


async def run_discovery(
    client: GraphClient,
    spec: JobSpec,
    payload: DiscoverPayload,
    sink: Callable[[JobSpec, int, list[DiscoveredItem]], Awaitable[None]],
) -> JobResult:
    """Read the directory, posting pages through ``sink``; return the final result."""
    delta = payload.mode == "delta"
    types = set(payload.resource_types) & (set(spec.enabled_resource_types) or set(ResourceType))
    pager = _Pager(spec, payload.page_size, sink)
    request_ids: list[str] = []
    found = None
    if payload.member_groups is not None:
        found = await memberships.read_memberships(client, payload.member_groups)
        request_ids += found.request_ids
    users = discovery.discover_users(client, delta_link=payload.users_delta_link if delta else None)
    async for item in _sync_items(users, "users", found):
        await pager.add(item)
    request_ids += users.request_ids
    for user_id, group_ids in sorted(found.by_user.items()) if found is not None else ():
        await pager.add(DiscoveredUser(id=user_id, group_ids=group_ids, membership_only=True))
    groups_link = None
    if ResourceType.GROUP in types:
        groups = discovery.discover_groups(
            client,
            delta_link=payload.groups_delta_link if delta else None,
            tag_attributes=tuple(payload.tag_attributes),
        )
        async for item in _sync_items(groups, "groups"):
            await pager.add(item)
        request_ids += groups.request_ids
        groups_link = groups.delta_link
    if ResourceType.ROLE in types:
        request_ids += await _roles(client, pager)
    await pager.flush()
    data = DiscoverData(
        pages=pager.pages,
        counts=dict(pager.counts),
        users_delta_link=users.delta_link,
        groups_delta_link=groups_link,
        request_ids=request_ids[:200],
    )
    return JobResult(outcome=Outcome.SUCCEEDED, data=data)


async def _roles(client: GraphClient, pager: _Pager) -> list[str]:
    definitions = await roles.list_role_definitions(client)
    for d in definitions.items:
        await pager.add(
            DiscoveredRole(
                id=d.id,
                display_name=d.display_name,
                template_id=d.template_id,
                is_built_in=d.is_built_in,
                is_enabled=d.is_enabled,
                description=d.description,
            )
        )
    units = await roles.list_administrative_units(client)
    for u in units.items:
        await pager.add(
            DiscoveredAdministrativeUnit(
                id=u.id, display_name=u.display_name, description=u.description
            )
        )
    return [*definitions.request_ids, *units.request_ids]
