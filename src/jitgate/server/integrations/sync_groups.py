"""Group memberships of interest: which groups discovery reads, and applying what it read.

Reading every user's groups is too expensive (100k users), so discovery reads the members of the
groups that decide something: every group named (by Entra id or display name) in an active access
flow's requestor, grantee or approver conditions (escalation tiers too), and every integration
owner entry of attribute ``group``. Values compared with ``contains``/``starts_with``/... name no
group outright; they are matched against the names of discovered groups (``entra-group``
resources), so such a group is read from the run after it is first discovered.

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

from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, cast, select

from jitgate.server.connectors.tenancy import owned
from jitgate.server.flows.models import AccessFlow
from jitgate.server.flows.schemas import MatchOperator
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration, Resource

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy.orm import Session

    from jitgate.server.connectors.tenancy import TenantScope

CHUNK = 1000
DIRECT = {MatchOperator.IS.value, MatchOperator.IS_NOT.value}


def _conditions(requestors: dict[str, Any] | None) -> Iterator[tuple[str, list[str]]]:
    for condition in (requestors or {}).get("conditions") or []:
        if condition.get("type") == "group":
            yield str(condition.get("match_operator", "is")), list(condition.get("values") or [])


def _approvers(groups: Iterable[dict[str, Any]]) -> Iterator[tuple[str, list[str]]]:
    for group in groups:
        for approver in group.get("approvers") or []:
            if approver.get("type") == "group":
                yield "is", list(approver.get("values") or [])


def _flow_refs(flow: AccessFlow) -> Iterator[tuple[str, list[str]]]:
    yield from _conditions(flow.requestors)
    yield from _conditions((flow.request_for or {}).get("grantees"))
    yield from _approvers((flow.approver_policy or {}).get("approver_groups") or [])
    for tier in (flow.escalation_policy or {}).get("tiers") or []:
        yield from _approvers(tier)


def _matching_names(session: Session, operator: str, values: list[str]) -> set[str]:
    """Discovered group names a pattern condition matches."""
    patterns = [v.lower() for v in values]
    found: set[str] = set()
    rows = session.scalars(
        select(Resource.name).where(Resource.type == "entra-group", Resource.removed_at.is_(None))
    )
    for name in rows:
        lowered = name.lower()
        if operator == MatchOperator.STARTS_WITH.value:
            hit = any(lowered.startswith(p) for p in patterns)
        else:  # contains / does_not_contain: the contained groups decide both
            hit = any(p in lowered for p in patterns)
        if hit:
            found.add(name)
    return found


def groups_of_interest(session: Session) -> list[str]:
    """Group ids and display names whose members discovery reads (sorted, deduplicated)."""
    refs: set[str] = set()
    patterns: list[tuple[str, list[str]]] = []
    for flow in session.scalars(select(AccessFlow).where(AccessFlow.active.is_(True))):
        for operator, values in _flow_refs(flow):
            if operator in DIRECT:
                refs.update(v for v in values if v)
            else:
                patterns.append((operator, values))
    owners = session.scalars(select(Integration.owners).where(Integration.deleted_at.is_(None)))
    for entries in owners:
        for owner in entries or []:
            if owner.get("attribute") == "group":
                refs.update(str(v) for v in owner.get("values") or [] if v)
    for operator, values in patterns:
        refs |= _matching_names(session, operator, values)
    return sorted(refs)


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
