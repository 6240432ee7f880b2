"""Group memberships of interest: applying what discovery read of the groups that decide something.

Which groups discovery reads is ``flows.groups.groups_of_interest`` (access flows name most of
them); the discover job's payload gets the list through ``IntegrationUses.member_groups``.

Applying (after all pages of a run, since groups of the same run are upserted after users):

* an ``entra`` identity's ``groups`` become exactly its groups of interest, ``{"id", "name"}``
  (the name from the discovered group resource, when known); it loses any group it is no longer in;
* a ``local`` identity (an adopted account) keeps the groups set by hand that are not of interest;
  its groups of interest are replaced the same way;
* identities never matched to Entra (no object id), and identities of other tenants (another
  connector's scope, ``connectors.tenancy``; local accounts too unless the scope may adopt
  them), are not touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Text, cast, select

from jitgate.server.connectors.tenancy import owned
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration, Resource

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.server.connectors.tenancy import TenantScope

CHUNK = 1000


def _names(session: Session, integration: Integration, group_ids: set[str]) -> dict[str, str]:
    ids = sorted(group_ids)
    names: dict[str, str] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(Resource.external_id, Resource.name).where(
            Resource.integration_id == integration.id,
            Resource.type == "entra-group",
            Resource.external_id.in_(ids[start : start + CHUNK]),
        )
        names.update({row.external_id.lower(): row.name for row in session.execute(query)})
    return names


def _new_groups(
    identity: Identity,
    group_ids: list[str],
    names: dict[str, str],
    interest: set[str],
) -> list[dict[str, str]]:
    entries = [
        {"id": g, "name": names[g.lower()]} if g.lower() in names else {"id": g} for g in group_ids
    ]
    if identity.source != "local":
        return entries

    def of_interest(entry: dict[str, str]) -> bool:
        keys = {str(v).lower() for k, v in entry.items() if k in {"id", "name"} and v}
        return bool(keys & interest)

    kept = [e for e in identity.groups or [] if not of_interest(e)]
    return kept + entries


def apply_memberships(
    session: Session,
    integration: Integration,
    scope: TenantScope,
    refs: list[str],
    by_user: dict[str, list[str]],
) -> int:
    """Set the groups of interest of the scope's identities from ``by_user`` (oid -> groups)."""
    mine = owned(scope)
    all_ids = {g for groups in by_user.values() for g in groups}
    names = _names(session, integration, all_ids)
    interest = {r.lower() for r in refs} | {g.lower() for g in all_ids}
    interest |= {n.lower() for n in names.values()}
    changed = 0

    def update(identity: Identity) -> None:
        nonlocal changed
        new = _new_groups(identity, by_user.get(identity.object_id or "", []), names, interest)
        if new != (identity.groups or []):
            identity.groups = new
            changed += 1

    oids = sorted(by_user)
    for start in range(0, len(oids), CHUNK):
        chunk = oids[start : start + CHUNK]
        for identity in session.scalars(
            select(Identity).where(mine, Identity.object_id.in_(chunk))
        ):
            update(identity)
    holders = select(Identity).where(
        mine,
        Identity.object_id.is_not(None),
        cast(Identity.groups, Text).not_in(["[]", "null"]),
    )
    for identity in session.scalars(holders):
        if identity.object_id not in by_user:
            update(identity)
    session.flush()
    return changed
