"""Grant-row changes and reads that need no request row.

The state changes that move a request with its grants are ``requests.granting``'s: they lock the
request first (the lock order is stated there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import NOT_ENDED, EndReason, GrantStatus, move_grant

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

#: Ids per ``IN (...)`` list when locking many rows.
LOCK_CHUNK = 500


def request_grants(session: Session, request_id: str, *, lock: bool = False) -> list[Grant]:
    """A request's grants (locked when asked), in a stable order."""
    query = select(Grant).where(Grant.request_id == request_id).order_by(Grant.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def count_grants(session: Session, request_id: str, condition: ColumnElement[bool]) -> int:
    """How many of a request's grants meet ``condition`` (one aggregate query, rows unloaded)."""
    query = select(func.count()).select_from(Grant).where(Grant.request_id == request_id, condition)
    return session.scalar(query) or 0


def end_grants(grants: list[Grant], *, now: datetime, by: str, reason: EndReason) -> None:
    """End every grant not yet ended: pending ones simply end, live ones await removal."""
    for grant in grants:
        if grant.status not in NOT_ENDED or grant.ended_at is not None:
            continue
        grant.ended_at = now
        grant.ended_by = by
        grant.end_reason = reason
        grant.updated_at = now
        if reason is EndReason.CANCELLED:
            move_grant(grant, GrantStatus.ENDED, now=now)
        elif grant.status is not GrantStatus.REVOKING:
            move_grant(grant, GrantStatus.REVOKING, now=now)
