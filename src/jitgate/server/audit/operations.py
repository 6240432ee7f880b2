"""Writing audit events: one per state change, in the same transaction as the change.

Writers serialise on the single ``audit_head`` row (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite transactions already hold the write lock), so sequence numbers are contiguous and each
event's ``prev_hash`` is its predecessor's hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from jitgate.server.audit.chain import GENESIS, link
from jitgate.server.audit.models import AuditEvent, AuditHead

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor

HEAD_ID = 1


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """Return the fields an event's hash covers."""
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "source": event.source,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "before": event.before,
        "after": event.after,
        "context": event.context,
    }


def record_event(
    *,
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain (flushes; the caller commits with the change)."""
    head = session.scalars(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        seq=head.seq + 1,
        at=clock.now(),
        actor_id=actor.identity_id,
        actor_name=actor.name,
        source=str(actor.source),
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        context=context or {},
        prev_hash=head.hash,
        hash="",
    )
    event.hash = link(head.hash, event_fields(event))
    head.seq = event.seq
    head.hash = event.hash
    session.add(event)
    session.flush()
    return event
