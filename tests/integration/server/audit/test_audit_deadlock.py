"""The audit head is locked last (at commit), so it is never part of a lock cycle.

Transaction A records an event and then locks request R; transaction B locks R and then records
an event. When ``record_event`` locked ``audit_head`` at once, A held the head and waited for R
while B held R and waited for the head: PostgreSQL aborted one of them (40P01). Now both commit
and the chain stays contiguous and linked. This needs two real connections committing
concurrently, so it runs on a throw-away PostgreSQL database (SQLite serialises writers with
``BEGIN IMMEDIATE``: the interleaving cannot happen there).

The rollback tests run on both databases inside the rolled-back fixture.
"""

from __future__ import annotations

import threading
from threading import BrokenBarrierError

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from factories import (
    BOOTSTRAP,
    make_flow,
    make_identity,
    make_integration,
    make_request,
    make_resource,
)
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.server.audit.models import AuditEvent, AuditHead
from jitgate.server.audit.operations import HEAD_ID, pending_events, record_event
from jitgate.server.audit.service import verify_chain
from jitgate.server.requests.transitions import lock_request

WAIT_S = 30


def _record(session, clock, name):
    record_event(
        session=session,
        clock=clock,
        actor=BOOTSTRAP,
        action="test.event",
        target_type="thing",
        target_id=name,
        after={"name": name},
    )


def _head(session):
    head = session.get(AuditHead, HEAD_ID, populate_existing=True)
    return (head.seq, head.hash) if head else None


def _arrange(sessions, clock):
    with sessions() as s:
        alice = make_identity(s, clock, "alice@contoso.example")
        integration = make_integration(s, clock, "Deadlock")
        group = make_resource(s, clock, integration, name="Deadlock")
        flow = make_flow(s, clock, integration, "Deadlock")
        request_id = make_request(s, clock, alice, [group], flow_id=flow.id).id
        return request_id, s.scalar(select(func.count()).select_from(AuditEvent))


def _in_transaction(sessions, errors, steps):
    """Run ``steps(session)`` in a transaction and commit; keep what it raised."""
    with sessions() as s:
        try:
            s.execute(text(f"SET LOCAL lock_timeout = '{WAIT_S}s'"))
            steps(s)
            s.commit()
        except (OperationalError, BrokenBarrierError) as err:
            errors.append(err)
            s.rollback()


def test_audit_then_row_and_row_then_audit_both_commit(fresh_postgres_url):
    engine = make_engine(fresh_postgres_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    request_id, before = _arrange(sessions, clock)
    barrier = threading.Barrier(2, timeout=WAIT_S)
    errors: list[Exception] = []

    def audit_then_row(s):  # A: an event first, then the request row
        _record(s, clock, "a")
        s.flush()
        barrier.wait()
        lock_request(s, request_id)

    def row_then_audit(s):  # B: the request row first, then an event
        lock_request(s, request_id)
        barrier.wait()
        _record(s, clock, "b")
        s.flush()

    threads = [
        threading.Thread(target=_in_transaction, args=(sessions, errors, steps))
        for steps in (audit_then_row, row_then_audit)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT_S * 2)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        with sessions() as s:
            result = verify_chain(session=s)
            assert result.ok, result.problem
            seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
            assert seqs == list(range(1, before + 3))
            names = s.scalars(select(AuditEvent.target_id).where(AuditEvent.seq > before))
            assert sorted(names) == ["a", "b"]
    finally:
        engine.dispose()


def test_events_wait_for_the_commit(sessions, clock):
    with sessions() as s:
        _record(s, clock, "queued")
        s.flush()
        assert pending_events(s) == 1  # a flush does not append (nor lock the head)
        s.commit()
        assert pending_events(s) == 0
    with sessions() as s:
        assert verify_chain(session=s).ok
        assert s.scalar(select(AuditEvent.target_id).order_by(AuditEvent.seq.desc())) == "queued"


def test_a_rollback_drops_the_queued_events_and_leaves_the_head(sessions, clock):
    with sessions() as s:
        _record(s, clock, "kept")
        s.commit()
        head = _head(s)
        count = s.scalar(select(func.count()).select_from(AuditEvent))
        _record(s, clock, "dropped-1")
        _record(s, clock, "dropped-2")
        s.rollback()
        assert pending_events(s) == 0
        s.commit()  # nothing queued is left to append
        assert _head(s) == head
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == count
        assert verify_chain(session=s).ok


def test_a_savepoint_rollback_drops_only_its_own_events(sessions, clock):
    with sessions() as s:
        start = _head(s)
        _record(s, clock, "outer")
        lost = s.begin_nested()
        _record(s, clock, "inner-dropped")
        lost.rollback()  # e.g. a reconciler action that lost a race
        with s.begin_nested():
            _record(s, clock, "inner-kept")
        assert pending_events(s) == 2
        s.commit()
        names = list(
            s.scalars(
                select(AuditEvent.target_id)
                .where(AuditEvent.seq > (start[0] if start else 0))
                .order_by(AuditEvent.seq)
            )
        )
        assert names == ["outer", "inner-kept"]
        assert verify_chain(session=s).ok


def test_reading_the_log_in_the_transaction_sees_its_own_events(session, clock):
    _record(session, clock, "mine")
    events = session.scalars(select(AuditEvent).where(AuditEvent.target_id == "mine")).all()
    assert [e.target_id for e in events] == ["mine"]
    assert pending_events(session) == 0
    assert verify_chain(session=session).ok


def test_events_of_one_transaction_keep_their_record_order(session, clock):
    n = 3
    for i in range(n):
        _record(session, clock, f"e{i}")
    session.commit()
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "test.event").order_by(AuditEvent.seq)
    ).all()
    assert [r.target_id for r in rows][-n:] == [f"e{i}" for i in range(n)]
    assert [r.seq for r in rows][-n:] == list(range(rows[-n].seq, rows[-n].seq + n))
