"""Writing audit events: one per state change, in the same transaction as the change.

``record_event`` does not touch the chain: it builds the event and queues it on the session.
The chain is appended once, at the end of the transaction (a ``before_commit`` hook on every
session): the pending changes are flushed, then the single ``audit_head`` row is locked
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite transactions already hold the write lock), the
queued events get their sequence numbers, ``at`` and hashes in record order, and the head moves.
So a transaction that holds ``audit_head`` never waits for another row lock (it only inserts its
events and commits): the head cannot be part of a deadlock, and the chain stays contiguous and
linked in commit order.

A rollback drops the events queued in what it rolls back (a savepoint's own events, or all of
them). A read of the audit tables in a transaction with queued events appends them first, so
the transaction sees its own events (only tests and tools do that: it takes the head early).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from jitgate.server.audit.chain import GENESIS, keyed_link
from jitgate.server.audit.checkpoints import make_checkpoint
from jitgate.server.audit.keys import ring_for
from jitgate.server.audit.models import AuditCheckpoint, AuditEvent, AuditHead

if TYPE_CHECKING:
    from sqlalchemy.orm import ORMExecuteState, SessionTransaction

    from jitgate.core.clock import Clock
    from jitgate.server.actor import Actor

HEAD_ID = 1
#: ``session.info`` key: the events recorded in this transaction, not yet in the chain.
PENDING_KEY = "jitgate.audit.pending"
AUDIT_TABLES = frozenset(
    {AuditEvent.__tablename__, AuditHead.__tablename__, AuditCheckpoint.__tablename__}
)


@dataclass(slots=True)
class _Pending:
    """A recorded event waiting for commit, and the savepoint it was recorded in (if any)."""

    event: AuditEvent
    clock: Clock
    savepoint: SessionTransaction | None


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """Return the fields an event's hash covers (the key id too, on keyed events)."""
    fields: dict[str, Any] = {
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
    if event.key_id is not None:
        fields["key_id"] = event.key_id
    return fields


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
) -> None:
    """Queue one event; it joins the chain when the session commits (see the module docstring)."""
    pending = AuditEvent(
        actor_id=actor.identity_id,
        actor_name=actor.name,
        source=str(actor.source),
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        context=context or {},
    )
    entry = _Pending(pending, clock, session.get_nested_transaction())
    session.info.setdefault(PENDING_KEY, []).append(entry)


def pending_events(session: Session) -> int:
    """How many events this session's transaction has recorded and not yet appended."""
    return len(session.info.get(PENDING_KEY, ()))


def _locked_head(session: Session) -> AuditHead | None:
    """The chain's head, locked and read afresh (another writer may have moved it)."""
    return session.scalars(
        select(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def append_pending(session: Session) -> None:
    """Append the queued events to the chain now (the commit hook; reads of the log call it)."""
    queue: list[_Pending] = session.info.pop(PENDING_KEY, [])
    if not queue:
        return
    session.flush()  # every row lock the changes need, before the head's
    head = _locked_head(session)
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS, legacy_seq=0)
        session.add(head)
    ring = ring_for(session)
    key_id, key = ring.active_key()
    for entry in queue:
        item = entry.event
        item.seq = head.seq + 1
        item.at = entry.clock.now()
        item.prev_hash = head.hash
        item.key_id = key_id
        item.hash = keyed_link(key, head.hash, event_fields(item))
        head.seq, head.hash = item.seq, item.hash
        session.add(item)
        if ring.checkpoint_every and item.seq % ring.checkpoint_every == 0:
            session.add(make_checkpoint(ring=ring, head=head, at=item.at))
    session.flush()


def write_checkpoint(*, session: Session, clock: Clock) -> AuditCheckpoint | None:
    """Sign and store a checkpoint of the current head now (``None`` for an empty log)."""
    append_pending(session)
    head = _locked_head(session)
    if head is None or head.seq == 0:
        return None
    existing = session.get(AuditCheckpoint, head.seq)
    if existing is not None:
        return existing
    cp = make_checkpoint(ring=ring_for(session), head=head, at=clock.now())
    session.add(cp)
    session.flush()
    return cp


def _within(savepoint: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """Tell whether an event recorded in ``savepoint`` (``None``: the root) is inside ``ended``."""
    tx = savepoint
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # A savepoint's release also fires this hook: its events wait for the real commit.
    if not session.in_nested_transaction():
        append_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    queue: list[_Pending] | None = session.info.get(PENDING_KEY)
    if not queue:
        return
    if not previous.nested:
        session.info.pop(PENDING_KEY, None)
        return
    kept = [p for p in queue if not _within(p.savepoint, previous)]
    if kept:
        session.info[PENDING_KEY] = kept
    else:
        session.info.pop(PENDING_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    # The root transaction ended (committed, rolled back or closed): nothing carries over.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(PENDING_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _before_audit_read(state: ORMExecuteState) -> None:
    session = state.session
    if PENDING_KEY not in session.info:
        return
    statement = state.statement
    if not isinstance(statement, ClauseElement):
        return
    tables = find_tables(statement, include_crud=True, include_joins=True)
    if AUDIT_TABLES.intersection(t.name for t in tables):
        append_pending(session)
