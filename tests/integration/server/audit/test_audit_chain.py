from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from factories import write_events
from jitgate.server.audit.models import AuditEvent
from jitgate.server.audit.service import verify_chain


def test_untouched_chain_verifies(session, clock):
    write_events(session, clock, 5)
    result = verify_chain(session=session)
    assert result.ok
    assert result.events == 5


def test_sequence_is_contiguous_and_linked(session, clock):
    write_events(session, clock, 3)
    events = session.query(AuditEvent).order_by(AuditEvent.seq).all()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_name", "mallory"),
        ("action", "test.other"),
        ("after", {"i": 99}),
        ("target_id", "x"),
        ("hash", "f" * 64),
        ("prev_hash", "e" * 64),
    ],
)
def test_editing_any_field_is_detected_at_that_seq(session, clock, column, value):
    write_events(session, clock, 5)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values({column: value}))
    session.expire_all()
    result = verify_chain(session=session)
    assert not result.ok
    assert result.first_bad_seq == 3


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_deleting_any_row_is_detected(session, clock, seq):
    write_events(session, clock, 5)
    session.execute(delete(AuditEvent).where(AuditEvent.seq == seq))
    session.expire_all()
    result = verify_chain(session=session)
    assert not result.ok
    assert result.first_bad_seq == seq
