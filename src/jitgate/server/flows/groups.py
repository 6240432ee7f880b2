"""Groups of interest: the groups whose members discovery reads, because they decide something.

Reading every user's groups is too expensive (100k users), so discovery reads the members of the
groups that decide something: every group named (by Entra id or display name) in an active access
flow's requestor, grantee or approver conditions (escalation tiers too), and every integration
owner entry of attribute ``group``. Values compared with ``contains``/``starts_with``/... name no
group outright; they are matched against the names of discovered groups (``entra-group``
resources), so such a group is read from the run after it is first discovered.

The integrations area (below) queues the discover jobs: it gets this list through
``integrations.uses.IntegrationUses``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jitgate.server.flows.models import AccessFlow
from jitgate.server.flows.schemas import MatchOperator
from jitgate.server.integrations.models import Integration, Resource

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy.orm import Session

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
