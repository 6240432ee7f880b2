"""Standing membership: access that existed without a broker grant (invariant 2).

The broker never removes a standing membership in an ``additive`` integration. In an
``authoritative`` integration only the allow-list keeps one: rows an admin marked ``allowed``
(``set_standing_allowed``); every other member that no live grant backs is removed by drift.
Each change here is one operation with one audit event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.server.actor import require_admin
from jitgate.server.audit.operations import record_event
from jitgate.server.grants.models import StandingMembership
from jitgate.server.locking import locked

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor
    from jitgate.server.grants.keys import MembershipKey


def _summary(row: StandingMembership) -> dict[str, object]:
    return {
        "resource_id": row.resource_id,
        "principal_id": row.principal_id,
        "permission": row.permission,
        "scope": row.scope,
        "source": row.source,
        "allowed": row.allowed,
        "removed": row.removed_at is not None,
    }


def find_standing(
    session: Session, key: MembershipKey, *, lock: bool = False
) -> StandingMembership | None:
    """The standing row of a key, if any (removed or not)."""
    query = select(StandingMembership).where(
        StandingMembership.resource_id == key.resource_id,
        StandingMembership.permission == key.permission,
        StandingMembership.scope == key.scope,
        StandingMembership.principal_id == key.principal_id,
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def record_standing(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    key: MembershipKey,
    source: str,
    action: str = "membership.standing",
    grant_id: str | None = None,
    context: dict[str, object] | None = None,
) -> StandingMembership:
    """Record (or re-open) a standing membership; an existing live row changes nothing."""
    row = find_standing(session, key, lock=True)
    if row is not None and row.removed_at is None:
        return row
    now = clock.now()
    if row is None:
        row = StandingMembership(
            integration_id=key.integration_id,
            resource_id=key.resource_id,
            permission=key.permission,
            scope=key.scope,
            principal_id=key.principal_id,
            allowed=False,
        )
        session.add(row)
    row.source, row.grant_id, row.recorded_at, row.removed_at = source, grant_id, now, None
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action=action,
        target_type="standing_membership",
        target_id=row.id,
        after=_summary(row),
        context=context,
    )
    return row


def mark_standing_gone(
    *, session: Session, clock: Clock, actor: Actor, row: StandingMembership
) -> StandingMembership:
    """A read showed the standing member is no longer there."""
    before = _summary(row)
    row.removed_at = clock.now()
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="membership.standing_gone",
        target_type="standing_membership",
        target_id=row.id,
        before=before,
        after=_summary(row),
    )
    return row


def set_standing_allowed(
    *, session: Session, clock: Clock, actor: Actor, standing_id: str, allowed: bool
) -> StandingMembership:
    """Put a standing membership on (or take it off) the authoritative allow-list (admins)."""
    require_admin(actor, "change the allow-list")
    row = locked(session, StandingMembership, standing_id, what="standing membership")
    before = _summary(row)
    row.allowed = allowed
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=actor,
        action="membership.allow" if allowed else "membership.disallow",
        target_type="standing_membership",
        target_id=row.id,
        before=before,
        after=_summary(row),
    )
    return row
