"""Upserting one page of discovered items: resources (groups, roles, units) and identities.

One ``SELECT … IN`` per page and kind finds the existing rows; new rows are added in bulk. Audit:
none per item (a tenant has 150k objects); ``integration.sync`` records the run's counts.

Users are matched in the run's tenant scope only (``jitgate.server.connectors.tenancy``): by object
id, then by UPN; an object id or UPN held by an identity of another scope (or by a local account
the scope may not adopt) is counted ``user.conflict`` and the user is skipped, so one tenant's
connector never renames, disables or re-points another tenant's people, nor makes a second
person with another tenant's object id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jitgate.protocol.v1 import (
    DiscoveredAdministrativeUnit,
    DiscoveredGroup,
    DiscoveredRole,
    DiscoveredUser,
    RemovedObject,
)
from jitgate.server.actor import Actor
from jitgate.server.connectors.tenancy import owned
from jitgate.server.identities.models import Identity
from jitgate.server.identities.sessions import revoke_identity_sessions
from jitgate.server.integrations.models import Integration, Resource

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import DiscoveredItem
    from jitgate.server.connectors.tenancy import TenantScope

AU_TYPE = "entra-administrative-unit"
CHUNK = 1000


@dataclass
class SyncCounts:
    """How many objects a run touched."""

    seen: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        """The audit form."""
        return dict(self.seen)


def _resource_fields(item: DiscoveredItem) -> tuple[str, str, dict[str, Any]]:
    """(type, name, fields) of a resource item."""
    if isinstance(item, DiscoveredGroup):
        attributes = {
            "is_assignable_to_role": item.is_assignable_to_role,
            "security_enabled": item.security_enabled,
            "mail_enabled": item.mail_enabled,
            "dynamic": "DynamicMembership" in item.group_types,
            "on_premises_sync_enabled": item.on_premises_sync_enabled,
            "group_types": list(item.group_types),
            "mail": item.mail,
        }
        tags = {k: v if isinstance(v, str) else ",".join(v) for k, v in item.tags.items()}
        fields = {
            "attributes": attributes,
            "tags": tags,
            "owners": list(item.owners),
            "description": item.description,
        }
        return "entra-group", item.display_name or item.id, fields
    if isinstance(item, DiscoveredRole):
        attributes = {
            "template_id": item.template_id,
            "is_built_in": item.is_built_in,
            "is_enabled": item.is_enabled,
        }
        return (
            "entra-role",
            item.display_name,
            {"attributes": attributes, "description": item.description},
        )
    if isinstance(item, DiscoveredAdministrativeUnit):
        return (
            AU_TYPE,
            item.display_name or item.id,
            {"attributes": {}, "description": item.description},
        )
    raise TypeError(type(item).__name__)


def _upsert_resources(
    session: Session,
    clock: Clock,
    integration: Integration,
    items: Sequence[DiscoveredItem],
    counts: SyncCounts,
) -> None:
    if not items:
        return
    now = clock.now()
    existing = {
        (r.type, r.external_id): r
        for r in session.scalars(
            select(Resource).where(
                Resource.integration_id == integration.id,
                Resource.external_id.in_([i.id for i in items]),
            )
        )
    }
    for item in items:
        type_, name, fields = _resource_fields(item)
        row = existing.get((type_, item.id))
        if row is None:
            row = Resource(
                integration_id=integration.id, type=type_, external_id=item.id, discovered_at=now
            )
            session.add(row)
            counts.seen[f"{type_}.new"] += 1
        row.name = name[:256]
        row.description = fields.get("description")
        row.attributes = fields.get("attributes", {})
        row.tags = fields.get("tags", {})
        row.owners = fields.get("owners", [])
        row.last_seen_at = now
        row.removed_at = None
        counts.seen[type_] += 1


@dataclass
class PeopleLinks:
    """What a run learns about people, resolved after all pages: managers and memberships.

    ``managers``: user object id -> manager object id (``""``: none). ``groups``: user object
    id -> group ids of interest, or ``None`` when the run did not read memberships.
    """

    managers: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] | None = None

    def note(self, user: DiscoveredUser) -> None:
        """Keep the user's manager and groups, if read."""
        if user.manager_id is not None and not user.membership_only:
            self.managers[user.id] = user.manager_id
        if self.groups is not None and user.group_ids:
            self.groups[user.id] = list(user.group_ids)


def _known(
    session: Session, scope: TenantScope, users: Sequence[DiscoveredUser]
) -> tuple[dict[str, Identity], dict[str, Identity], set[str]]:
    """The scope's identities with these object ids, UPN holders, and object ids held elsewhere.

    UPN holders come from every scope: a UPN held in another tenant is a conflict, never a match.
    So is an object id held by an identity of another scope (Entra object ids are unique across
    tenants: a report of another tenant's object id is a forgery, never a second person).
    """
    oids = [u.id for u in users]
    by_oid: dict[str, Identity] = {}
    foreign: set[str] = set()
    rows = select(Identity).where(Identity.object_id.in_(oids))
    for identity in session.scalars(rows.order_by(Identity.created_at, Identity.id)):
        oid = identity.object_id or ""
        if identity.tenant_id == scope.tenant:
            by_oid[oid] = identity
        elif _ours(identity, scope):
            by_oid.setdefault(oid, identity)
        else:
            foreign.add(oid)
    upns = sorted({_upn(u) for u in users})
    by_upn = {i.upn: i for i in session.scalars(select(Identity).where(Identity.upn.in_(upns)))}
    return by_oid, by_upn, foreign - set(by_oid)


def _upn(user: DiscoveredUser) -> str:
    return (user.user_principal_name or f"{user.id}@unknown.invalid").lower()[:320]


def _ours(identity: Identity, scope: TenantScope) -> bool:
    """Whether the scope may take this identity: its own, or a local account it may adopt."""
    if identity.tenant_id is None:
        return scope.adopt_local
    return identity.tenant_id == scope.tenant


def _end_sessions(session: Session, clock: Clock, identity: Identity) -> None:
    """A person discovery disables is signed out of the portal everywhere."""
    revoke_identity_sessions(
        session=session,
        clock=clock,
        identity_id=identity.id,
        reason="identity_disabled",
        actor=Actor.system("discovery"),
    )


def _upsert_users(  # noqa: PLR0917 - the page's context, spelled out
    session: Session,
    clock: Clock,
    scope: TenantScope,
    users: Sequence[DiscoveredUser],
    counts: SyncCounts,
    links: PeopleLinks,
) -> None:
    for user in users:
        links.note(user)
    users = [u for u in users if not u.membership_only]
    if not users:
        return
    now = clock.now()
    by_oid, by_upn, foreign = _known(session, scope, users)
    for user in users:
        upn = _upn(user)
        holder = by_upn.get(upn)
        row = by_oid.get(user.id)
        if user.id in foreign or (
            holder is not None
            and holder is not row
            and (row is not None or not _ours(holder, scope))
        ):
            counts.seen["user.conflict"] += 1  # the object id or UPN is someone else's
            continue
        row = row or holder
        if row is None:
            row = Identity(source="entra", created_at=now, groups=[], attributes={})
            session.add(row)
            counts.seen["user.new"] += 1
        by_upn[upn] = by_oid[user.id] = row
        row.tenant_id = scope.tenant
        row.object_id = user.id
        row.upn = upn
        row.mail = user.mail.lower() if user.mail else None
        row.display_name = (user.display_name or upn)[:256]
        row.user_type = (user.user_type or "Member")[:16]
        enabled = user.account_enabled if user.account_enabled is not None else True
        if row.account_enabled and not enabled and row.id is not None:
            _end_sessions(session, clock, row)
        row.account_enabled = enabled
        row.updated_at = now
        counts.seen["user"] += 1


def _apply_removed(  # noqa: PLR0917 - the page's context, spelled out
    session: Session,
    clock: Clock,
    integration: Integration,
    scope: TenantScope,
    removed: Sequence[RemovedObject],
    counts: SyncCounts,
) -> None:
    now = clock.now()
    groups = [r.id for r in removed if r.object_type == "group"]
    users = [r.id for r in removed if r.object_type == "user"]
    if groups:
        for row in session.scalars(
            select(Resource).where(
                Resource.integration_id == integration.id,
                Resource.external_id.in_(groups),
                Resource.type == "entra-group",
            )
        ):
            row.removed_at = now
            counts.seen["group.removed"] += 1
    if users:
        mine = select(Identity).where(owned(scope), Identity.object_id.in_(users))
        for identity in session.scalars(mine):
            if identity.account_enabled:
                _end_sessions(session, clock, identity)
            identity.account_enabled = False
            identity.updated_at = now
            counts.seen["user.removed"] += 1


def apply_page(
    session: Session,
    clock: Clock,
    integration: Integration,
    items: Sequence[DiscoveredItem],
    *,
    scope: TenantScope,
    counts: SyncCounts,
    links: PeopleLinks,
) -> None:
    """Upsert one page of items (managers and groups are kept in ``links`` for the end)."""
    users = [i for i in items if isinstance(i, DiscoveredUser)]
    removed = [i for i in items if isinstance(i, RemovedObject)]
    resources = [i for i in items if not isinstance(i, DiscoveredUser | RemovedObject)]
    _upsert_users(session, clock, scope, users, counts, links)
    _upsert_resources(session, clock, integration, resources, counts)
    _apply_removed(session, clock, integration, scope, removed, counts)
    session.flush()


def resolve_managers(session: Session, scope: TenantScope, managers: dict[str, str]) -> None:
    """Point each user's ``manager_id`` at the manager's identity (by object id), in chunks.

    Run after all pages: a manager may arrive on a later page than the report. ``""`` clears the
    manager; a manager who is not (yet) an identity leaves the user's manager as it was. Both
    ends are looked up in the run's tenant scope only: no manager link crosses tenants.
    """
    pairs = sorted(managers.items())
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start : start + CHUNK]
        oids = {oid for pair in chunk for oid in pair if oid}
        query = select(Identity).where(owned(scope), Identity.object_id.in_(oids))
        query = query.order_by(Identity.tenant_id.is_(None), Identity.created_at, Identity.id)
        rows: dict[str | None, Identity] = {}
        for row in session.scalars(query):
            rows.setdefault(row.object_id, row)
        for user_oid, manager_oid in chunk:
            identity, manager = rows.get(user_oid), rows.get(manager_oid)
            if identity is None:
                continue
            if not manager_oid:
                identity.manager_id = None
            elif manager is not None and manager.id != identity.id:
                identity.manager_id = manager.id
    session.flush()
