"""Reading the audit log: filtered pages, exports, checkpoints, and verification of the chain.

Verification (one function, for the CLI and the API) fails when: an event's HMAC (or, up to the
legacy cut-over, its sha256) does not match; a seq is missing; the head disagrees with the last
event; a checkpoint (stored, or given from outside the database) has a bad signature or is not
extended by the chain; or the log is shorter than what the rest of the database proves happened
(grants, requests or memberships exist but no event does).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, table

from jitgate.core.db import read_only
from jitgate.server.audit.chain import GENESIS, keyed_link, link, same
from jitgate.server.audit.checkpoints import checkpoint_problem, checkpoint_record
from jitgate.server.audit.keys import ring_for
from jitgate.server.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from jitgate.server.audit.operations import HEAD_ID, event_fields

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

    from jitgate.server.audit.keys import KeyRing

VERIFY_BATCH = 1000
EXPORT_BATCH = 500


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to select from the log."""

    action: str | None = None
    actor_id: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0


def _select(flt: AuditFilter) -> Select[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.seq > flt.after_seq)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.actor_id:
        query = query.where(AuditEvent.actor_id == flt.actor_id)
    if flt.target_type:
        query = query.where(AuditEvent.target_type == flt.target_type)
    if flt.target_id:
        query = query.where(AuditEvent.target_id == flt.target_id)
    if flt.source:
        query = query.where(AuditEvent.source == flt.source)
    if flt.since:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.at < flt.until)
    return query.order_by(AuditEvent.seq)


def list_events(*, session: Session, flt: AuditFilter, limit: int) -> list[AuditEvent]:
    """Return up to ``limit`` events after ``flt.after_seq`` in sequence order."""
    return list(session.scalars(_select(flt).limit(limit)))


def stream_events(
    *, sessions: Callable[[], Session], flt: AuditFilter, upto_seq: int
) -> Iterator[AuditEvent]:
    """Yield matching events up to ``upto_seq``, each page read in its own short session.

    For exports streamed after the request's session is gone: memory holds one page, and no
    transaction stays open while the client reads (on SQLite a read transaction pins the WAL).
    Events are append-only, so paging by sequence number is a consistent snapshot up to
    ``upto_seq``.
    """
    after = flt.after_seq
    while after < upto_seq:
        with read_only(), sessions() as session:
            query = _select(replace(flt, after_seq=after)).where(AuditEvent.seq <= upto_seq)
            page = list(session.scalars(query.limit(EXPORT_BATCH)))
        yield from page
        if len(page) < EXPORT_BATCH:
            return
        after = page[-1].seq


def last_seq(*, session: Session) -> int:
    """The sequence number of the newest event (0 for an empty log)."""
    return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)


EXPORT_FIELDS = [
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "source",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "context",
    "key_id",
    "prev_hash",
    "hash",
]


def event_record(event: AuditEvent) -> dict[str, Any]:
    """Return an event as a plain dict (the export and API form)."""
    return {**event_fields(event), "prev_hash": event.prev_hash, "hash": event.hash}


def export_jsonl(events: Iterator[AuditEvent]) -> Iterator[str]:
    """Yield JSON Lines, one event a line."""
    for event in events:
        yield json.dumps(event_record(event), sort_keys=True) + "\n"


def export_csv(events: Iterator[AuditEvent]) -> Iterator[str]:
    """Yield CSV text (header first); JSON columns are embedded as JSON strings."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    yield buffer.getvalue()
    for event in events:
        buffer.seek(0)
        buffer.truncate()
        record = event_record(event)
        for key in ("before", "after", "context"):
            record[key] = json.dumps(record[key], sort_keys=True)
        writer.writerow(record)
        yield buffer.getvalue()


#: Tables whose rows are only ever written together with an audit event.
EVIDENCE_TABLES = ("grant", "access_request", "membership")


def list_checkpoints(*, session: Session, after_seq: int, limit: int) -> list[AuditCheckpoint]:
    """Return stored checkpoints after ``after_seq`` in sequence order."""
    query = select(AuditCheckpoint).where(AuditCheckpoint.seq > after_seq)
    return list(session.scalars(query.order_by(AuditCheckpoint.seq).limit(limit)))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of ``verify_chain``: ok, how many events, and the first bad seq."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None
    legacy_seq: int = 0
    checkpoints: int = 0


@dataclass(slots=True)
class _Walk:
    ring: KeyRing
    legacy_seq: int
    #: seq -> hash for every seq a checkpoint names (filled while walking).
    wanted: dict[int, str | None]
    count: int = 0
    prev_hash: str = GENESIS


def verify_chain(
    *,
    session: Session,
    checkpoints: Sequence[dict[str, Any]] = (),
    ring: KeyRing | None = None,
) -> VerifyResult:
    """Walk the chain from seq 1 and hold it against the head, checkpoints and evidence."""
    head = session.get(AuditHead, HEAD_ID)
    head_seq, head_hash, legacy = (
        (head.seq, head.hash, head.legacy_seq) if head else (0, GENESIS, 0)
    )
    stored = [checkpoint_record(c) for c in session.scalars(select(AuditCheckpoint))]
    every = [*stored, *checkpoints]
    walk = _Walk(ring=ring or ring_for(session), legacy_seq=legacy, wanted={})
    for cp in every:
        bad = checkpoint_problem(walk.ring, cp)
        if bad:
            return VerifyResult(ok=False, events=0, problem=bad, legacy_seq=legacy)
        walk.wanted[int(cp["seq"])] = None
    failure = _walk_events(session, walk)
    if failure:
        return failure
    problem = (
        _head_problem(walk, head_seq, head_hash)
        or _checkpoint_mismatch(walk, every)
        or _evidence_problem(session, walk.count)
    )
    if problem:
        return VerifyResult(
            ok=False,
            events=walk.count,
            first_bad_seq=walk.count + 1,
            problem=problem,
            legacy_seq=legacy,
        )
    return VerifyResult(ok=True, events=walk.count, legacy_seq=legacy, checkpoints=len(every))


def _walk_events(session: Session, walk: _Walk) -> VerifyResult | None:
    while True:
        batch = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > walk.count)
                .order_by(AuditEvent.seq)
                .limit(VERIFY_BATCH)
            )
        )
        for event in batch:
            bad = _check(walk, event)
            if bad:
                return VerifyResult(
                    ok=False,
                    events=walk.count,
                    first_bad_seq=walk.count + 1,
                    problem=bad,
                    legacy_seq=walk.legacy_seq,
                )
            walk.prev_hash = event.hash
            walk.count += 1
            if walk.count in walk.wanted:
                walk.wanted[walk.count] = event.hash
        if len(batch) < VERIFY_BATCH:
            return None


def _check(walk: _Walk, event: AuditEvent) -> str | None:
    expected_seq = walk.count + 1
    if event.seq != expected_seq:
        return f"seq {expected_seq} is missing (next is {event.seq})"
    if event.prev_hash != walk.prev_hash:
        return f"seq {event.seq} does not link to its predecessor"
    expected = _expected_hash(walk, event)
    if expected.startswith("!"):
        return expected[1:]
    if not same(expected, event.hash):
        return f"seq {event.seq} was altered (its HMAC does not match its content)"
    return None


def _expected_hash(walk: _Walk, event: AuditEvent) -> str:
    """The hash ``event`` must carry, or ``!`` and why it cannot be checked."""
    fields = event_fields(event)
    if event.seq <= walk.legacy_seq:
        if event.key_id is not None:
            return f"!seq {event.seq} is keyed but lies before the legacy cut-over"
        return link(walk.prev_hash, fields)
    if event.key_id is None:
        return f"!seq {event.seq} is unkeyed after the legacy cut-over (seq {walk.legacy_seq})"
    key = walk.ring.keys.get(event.key_id)
    if key is None:
        return f"!seq {event.seq} is signed with key id {event.key_id!r}, not in the key ring"
    return keyed_link(key, walk.prev_hash, fields)


def _head_problem(walk: _Walk, head_seq: int, head_hash: str) -> str | None:
    if head_seq != walk.count or head_hash != walk.prev_hash:
        return f"the chain ends at seq {walk.count} but its head says seq {head_seq}"
    return None


def _checkpoint_mismatch(walk: _Walk, every: list[dict[str, Any]]) -> str | None:
    for cp in sorted(every, key=lambda c: int(c["seq"])):
        seq = int(cp["seq"])
        found = walk.wanted.get(seq)
        if found is None:
            return (
                f"the chain ends at seq {walk.count}, before checkpoint seq {seq}: events removed"
            )
        if not same(found, str(cp["hash"])) or int(cp["legacy_seq"]) != walk.legacy_seq:
            return f"the chain at seq {seq} differs from its checkpoint: events altered"
    return None


def _evidence_problem(session: Session, count: int) -> str | None:
    if count:
        return None
    for name in EVIDENCE_TABLES:
        rows = int(session.scalar(select(func.count()).select_from(table(name))) or 0)
        if rows:
            return f"the log is empty but {rows} {name} rows exist: events were deleted"
    return None
