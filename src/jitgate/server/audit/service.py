"""Reading the audit log: filtered pages, exports, and verification of the chain."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from jitgate.core.db import read_only
from jitgate.server.audit.chain import GENESIS, link
from jitgate.server.audit.models import AuditEvent, AuditHead
from jitgate.server.audit.operations import HEAD_ID, event_fields

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

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


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of ``verify_chain``: ok, how many events, and the first bad seq."""

    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(*, session: Session) -> VerifyResult:
    """Walk the chain from seq 1: contiguous, linked, hashes recomputed, head matches."""
    expected_seq = 1
    prev_hash = GENESIS
    count = 0
    while True:
        batch = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq >= expected_seq)
                .order_by(AuditEvent.seq)
                .limit(VERIFY_BATCH)
            )
        )
        for event in batch:
            bad = _check(event, expected_seq, prev_hash)
            if bad:
                return VerifyResult(ok=False, events=count, first_bad_seq=expected_seq, problem=bad)
            prev_hash = event.hash
            expected_seq += 1
            count += 1
        if len(batch) < VERIFY_BATCH:
            break
    head = session.get(AuditHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != count or head_hash != prev_hash:
        return VerifyResult(
            ok=False,
            events=count,
            first_bad_seq=count + 1,
            problem=f"the chain ends at seq {count} but its head says seq {head_seq}",
        )
    return VerifyResult(ok=True, events=count)


def _check(event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.seq != expected_seq:
        return f"seq {expected_seq} is missing (next is {event.seq})"
    if event.prev_hash != prev_hash:
        return f"seq {event.seq} does not link to its predecessor"
    if link(prev_hash, event_fields(event)) != event.hash:
        return f"seq {event.seq} was altered (its hash does not match its content)"
    return None
