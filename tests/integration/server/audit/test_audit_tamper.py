"""Tampering with the audit log by someone with database access but not the audit key."""

from __future__ import annotations

import json
import secrets

import pytest
from sqlalchemy import delete, select, update

from factories import make_flow, make_request, write_events
from jitgate.server.audit.chain import GENESIS, link
from jitgate.server.audit.checkpoints import checkpoint_record, parse_checkpoints
from jitgate.server.audit.keys import KeyRing, bind_key_ring, ring_for
from jitgate.server.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from jitgate.server.audit.operations import HEAD_ID, event_fields, write_checkpoint
from jitgate.server.audit.service import verify_chain
from request_world import make_world


def _write(session, clock, n):
    write_events(session, clock, n)
    session.commit()


def _events(session):
    session.expire_all()
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _recompute_with_sha256(session):
    """What an attacker without the key does: rewrite every hash with the public sha256 link."""
    prev = GENESIS
    for event in _events(session):
        event.prev_hash = prev
        event.hash = link(prev, event_fields(event))
        prev = event.hash
    head = session.get(AuditHead, HEAD_ID)
    head.hash = prev
    session.flush()


def test_edit_and_recompute_chain_with_sha256_is_detected(session, clock):
    _write(session, clock, 5)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor_name="mallory"))
    _recompute_with_sha256(session)
    session.expire_all()
    result = verify_chain(session=session)
    assert not result.ok
    assert result.first_bad_seq == 1  # the first recomputed hash is already no HMAC
    assert "HMAC" in (result.problem or "")


def test_cut_newest_events_and_move_head_is_detected_by_checkpoint(session, clock):
    _write(session, clock, 6)
    cp = write_checkpoint(session=session, clock=clock)
    assert cp is not None
    assert cp.seq == 6
    saved = json.dumps(checkpoint_record(cp))  # the copy kept outside the database
    session.commit()
    kept = _events(session)[3]
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 4))
    session.execute(delete(AuditCheckpoint))
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=4, hash=kept.hash))
    session.expire_all()
    assert verify_chain(session=session).ok  # without the anchor it looks whole
    result = verify_chain(session=session, checkpoints=parse_checkpoints(saved))
    assert not result.ok
    assert "before checkpoint seq 6" in (result.problem or "")


def test_stored_checkpoint_also_catches_a_cut(session, clock):
    _write(session, clock, 3)
    write_checkpoint(session=session, clock=clock)
    session.commit()
    kept = _events(session)[0]
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 1))
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=1, hash=kept.hash))
    session.expire_all()
    result = verify_chain(session=session)
    assert not result.ok
    assert "checkpoint seq 3" in (result.problem or "")


def test_chain_extended_after_checkpoint_verifies(session, clock):
    _write(session, clock, 3)
    saved = checkpoint_record(write_checkpoint(session=session, clock=clock))
    _write(session, clock, 4)
    result = verify_chain(session=session, checkpoints=[saved])
    assert result.ok, result.problem
    assert result.events == 7


def test_forged_checkpoint_is_refused(session, clock):
    _write(session, clock, 2)
    saved = checkpoint_record(write_checkpoint(session=session, clock=clock))
    forged = {**saved, "seq": 1}
    result = verify_chain(session=session, checkpoints=[forged])
    assert not result.ok
    assert "bad signature" in (result.problem or "")


def test_automatic_checkpoint_every_n_events(session, clock, caplog):
    ring = ring_for(session)
    every = KeyRing(keys=ring.keys, active=ring.active, checkpoint_every=2)
    bind_key_ring(session.get_bind().engine, every)
    try:
        with caplog.at_level("INFO", logger="jitgate.audit.checkpoint"):
            _write(session, clock, 5)
    finally:
        bind_key_ring(session.get_bind().engine, ring)
    seqs = list(session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))
    assert seqs == [2, 4]
    logged = [r.checkpoint for r in caplog.records if r.getMessage() == "audit.checkpoint"]
    assert [c["seq"] for c in logged] == [2, 4]
    assert verify_chain(session=session, checkpoints=logged).ok


def test_deleting_every_event_is_detected_by_evidence(session, clock):
    world = make_world(session, clock)
    make_flow(session, clock, world.integration)
    make_request(session, clock, world.alice, [world.finance])
    session.execute(delete(AuditCheckpoint))
    session.execute(delete(AuditEvent))
    session.execute(update(AuditHead).values(seq=0, hash=GENESIS))
    session.expire_all()
    result = verify_chain(session=session)
    assert not result.ok
    assert "the log is empty but" in (result.problem or "")


def test_key_rotation_keeps_old_events_verifying(session, clock):
    engine = session.get_bind().engine
    old = ring_for(session)
    rotated = KeyRing(keys={**old.keys, "k-new": secrets.token_bytes(32)}, active="k-new")
    _write(session, clock, 2)
    bind_key_ring(engine, rotated)
    try:
        _write(session, clock, 2)
        ids = [e.key_id for e in _events(session)]
        assert ids == [old.active, old.active, "k-new", "k-new"]
        assert verify_chain(session=session).ok
        without_old = KeyRing(keys={"k-new": rotated.keys["k-new"]}, active="k-new")
        result = verify_chain(session=session, ring=without_old)
        assert not result.ok
        assert "not in the key ring" in (result.problem or "")
    finally:
        bind_key_ring(engine, old)


def test_wrong_key_fails(session, clock):
    _write(session, clock, 3)
    ring = ring_for(session)
    wrong = KeyRing(keys={ring.active: secrets.token_bytes(32)}, active=ring.active)
    result = verify_chain(session=session, ring=wrong)
    assert not result.ok
    assert result.first_bad_seq == 1


def test_legacy_events_verify_up_to_cutover_only(session, clock):
    _write(session, clock, 3)
    session.execute(update(AuditEvent).values(key_id=None))
    _recompute_with_sha256(session)
    session.execute(update(AuditHead).values(legacy_seq=2))
    session.expire_all()
    result = verify_chain(session=session)
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "unkeyed after the legacy cut-over" in (result.problem or "")
    session.execute(update(AuditHead).values(legacy_seq=3))
    session.expire_all()
    result = verify_chain(session=session)
    assert result.ok
    assert result.legacy_seq == 3


@pytest.mark.parametrize("text", ["", "[]", '{"level": "INFO"}\nnot json'])
def test_parse_checkpoints_refuses_text_without_one(text):
    with pytest.raises(ValueError, match="no checkpoint found"):
        parse_checkpoints(text)
