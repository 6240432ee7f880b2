"""Revocations Graph refuses for good: recorded, shown, alerted, and retried only now and then.

A revoke job that fails with a permanent error (``retryable`` false and no write whose answer
was lost: Graph's "last owner of the group" is the usual one, reported as ``GroupLastOwner``)
would be queued again by every tick and fail again, for ever, hiding the fact that someone kept
access past its end. Instead the key's membership row records the refusal
(``revoke_blocked_*``) and the plan leaves the key alone until ``revoke_blocked_until``
(``BLOCKED_RETRY`` later), then tries once more: an admin may have added another owner.

While blocked, every ending grant of the key carries the reason in ``last_error`` (shown by the
API, the CLI and the portal), the ``jitgate_revocations_blocked`` gauge counts the key, and the
audit gets one ``revocation.overdue`` event when the block starts (not one per retry). A removal
that succeeds, or finds the member already gone, clears the block.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from jitgate.server.actor import RECONCILER
from jitgate.server.audit.operations import record_event
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.grants.states import GrantStatus

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult

#: How long a refused removal is left alone before one more try.
BLOCKED_RETRY = timedelta(hours=1)


def is_permanent(result: JobResult) -> bool:
    """A failure that trying again will not change (Graph said no, and nothing may land)."""
    error = result.error
    return error is not None and not error.retryable and not error.ambiguous_write


def block_revocation(
    *, session: Session, clock: Clock, row: Membership, grants: list[Grant], result: JobResult
) -> None:
    """Record a refused removal on ``row`` and its ending grants; audit it the first time."""
    error = result.error
    if error is None:
        return
    now = clock.now()
    first = row.revoke_blocked_since is None
    row.revoke_blocked_code = error.code
    row.revoke_blocked_message = error.message[:4000]
    row.revoke_blocked_since = row.revoke_blocked_since or now
    row.revoke_blocked_until = now + BLOCKED_RETRY
    row.updated_at = now
    reason = (
        f"revocation blocked: {error.code}: {error.message} (access is still held; jitgate "
        f"tries again every {int(BLOCKED_RETRY.total_seconds() // 60)} minutes)"
    )
    ending = [g for g in grants if g.status is GrantStatus.REVOKING]
    for grant in ending:
        grant.last_error = reason[:2000]
    session.flush()
    if first:
        record_event(
            session=session,
            clock=clock,
            actor=RECONCILER,
            action="revocation.overdue",
            target_type="membership",
            target_id=row.id,
            after={
                "code": error.code,
                "message": error.message,
                "resource_id": row.resource_id,
                "principal_id": row.principal_id,
                "permission": row.permission,
                "grant_ids": [g.id for g in ending],
                "retry_after_s": int(BLOCKED_RETRY.total_seconds()),
            },
        )


def clear_block(row: Membership) -> None:
    """The removal went through: the key is no longer blocked."""
    row.revoke_blocked_code = None
    row.revoke_blocked_message = None
    row.revoke_blocked_since = None
    row.revoke_blocked_until = None


def is_blocked(row: Membership, now: datetime) -> bool:
    """Tell whether the plan must leave ``row``'s key alone at ``now``."""
    return row.revoke_blocked_until is not None and row.revoke_blocked_until > now


def count_blocked(session: Session) -> int:
    """Keys whose removal Graph refuses (the ``jitgate_revocations_blocked`` gauge)."""
    query = select(func.count(Membership.id)).where(
        Membership.applied.is_(True), Membership.revoke_blocked_since.is_not(None)
    )
    return session.scalar(query) or 0
