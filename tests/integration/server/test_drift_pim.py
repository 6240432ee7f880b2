"""Drift (additive and authoritative) and PIM-mode expiry verification."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import Directory, approved, engine_world, events, open_jobs, run_connector, tick
from jitgate.protocol.v1 import GrantMode
from jitgate.server.grants.models import Membership, StandingMembership
from jitgate.server.integrations.models import IntegrationStatus, MembershipMode
from jitgate.server.jobs.models import JobKind
from jitgate.server.reconciler.tick import ReconcilerConfig
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

HOUR = timedelta(hours=1)
DRIFT = ReconcilerConfig(
    periodic=True, drift_interval=timedelta(minutes=15), pim_grace=timedelta(minutes=5)
)


def _status(session, request):
    session.expire_all()
    return session.get(AccessRequest, request.id).status


def _granted(session, sessions, clock, w, directory):
    request = approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _status(session, request) is RequestStatus.ACTIVE
    return request


def _read(session, sessions, clock, w, directory):
    """A drift tick queues the read; the connector answers it."""
    tick(sessions, clock, DRIFT)
    assert [j.kind for j in open_jobs(session, JobKind.READ_MEMBERSHIP)] == [
        JobKind.READ_MEMBERSHIP
    ]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)


def test_additive_drift_reports_unknown_members_and_keeps_them(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = Directory()
    _granted(session, sessions, clock, w, directory)
    directory.holders(w.finance.external_id).add("oid-stranger")
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)
    reported = events(session, "drift.unknown_member")
    assert [e.after["principal_id"] for e in reported] == ["oid-stranger"]
    row = session.scalars(select(StandingMembership)).one()
    assert (row.principal_id, row.source, row.allowed) == ("oid-stranger", "drift", False)
    tick(sessions, clock, DRIFT)
    assert open_jobs(session) == [], "read again only after the drift interval; nothing removed"
    assert "oid-stranger" in directory.holders(w.finance.external_id)
    clock.advance(timedelta(minutes=15))
    _read(session, sessions, clock, w, directory)
    assert len(events(session, "drift.unknown_member")) == 1, "reported once"


def test_member_removed_by_hand_is_granted_again(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = Directory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    directory.holders(w.finance.external_id).discard("oid-alice")
    _read(session, sessions, clock, w, directory)
    assert [e.after["principal_id"] for e in events(session, "drift.missing")] == ["oid-alice"]
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.GRANT]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert directory.holders(w.finance.external_id) == {"oid-alice"}


def test_a_read_queued_right_after_a_write_does_not_judge_it(session, sessions, clock):
    """The read may predate the write (or lag it): a stale miss is not "removed by hand"."""
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = Directory()
    request = _granted(session, sessions, clock, w, directory)
    directory.holders(w.finance.external_id).discard("oid-alice")  # what a stale read shows
    _read(session, sessions, clock, w, directory)
    assert events(session, "drift.missing") == []
    tick(sessions, clock)
    assert open_jobs(session) == [], "no second grant write"
    assert session.scalars(select(StandingMembership)).all() == []
    membership = session.scalars(select(Membership)).one()
    assert membership.applied
    assert _status(session, request) is RequestStatus.ACTIVE


def test_authoritative_drift_removes_unbacked_members_only(session, sessions, clock):
    w = engine_world(
        session,
        clock,
        status=IntegrationStatus.ACTIVE,
        membership_mode=MembershipMode.AUTHORITATIVE,
    )
    directory = Directory()
    _granted(session, sessions, clock, w, directory)
    directory.holders(w.finance.external_id).update({"oid-stranger", "oid-allowed"})
    allowed = StandingMembership(
        integration_id=w.integration.id,
        resource_id=w.finance.id,
        permission="member",
        scope="/",
        principal_id="oid-allowed",
        source="admin",
        allowed=True,
        recorded_at=clock.now(),
    )
    session.add(allowed)
    session.commit()
    _read(session, sessions, clock, w, directory)
    revokes = open_jobs(session, JobKind.REVOKE)
    assert [j.payload["principal_id"] for j in revokes] == ["oid-stranger"]
    assert [e.after["principal_id"] for e in events(session, "drift.remove")] == ["oid-stranger"]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert directory.holders(w.finance.external_id) == {"oid-alice", "oid-allowed"}


def test_pim_expiry_is_verified_not_deleted(session, sessions, clock):
    w = engine_world(session, clock, grant_mode=GrantMode.PIM)
    directory = Directory()
    request = approved(session, clock, w)
    tick(sessions, clock)
    [grant_job] = open_jobs(session)
    assert grant_job.payload["grant_mode"] == "pim"
    assert grant_job.payload["ends_at"] is not None
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    clock.advance(HOUR)
    directory.holders(w.finance.external_id).discard("oid-alice")  # Entra expired the schedule
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.READ_MEMBERSHIP]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _status(session, request) is RequestStatus.EXPIRED
    assert not session.scalars(select(Membership)).one().applied


def test_pim_expiry_missed_by_entra_is_revoked_after_grace(session, sessions, clock):
    w = engine_world(session, clock, grant_mode=GrantMode.PIM)
    directory = Directory()
    request = approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    clock.advance(HOUR)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)  # still there
    assert _status(session, request) is RequestStatus.REVOKING
    clock.advance(timedelta(minutes=4))
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.READ_MEMBERSHIP]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    clock.advance(timedelta(minutes=2))
    tick(sessions, clock)
    [revoke] = open_jobs(session)
    assert (revoke.kind, revoke.payload["grant_mode"]) == (JobKind.REVOKE, "direct")
    assert len(events(session, "membership.pim_overdue")) == 1
    assert session.scalars(select(Membership)).one().pim_fallbacks == 1
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _status(session, request) is RequestStatus.EXPIRED
    assert directory.holders(w.finance.external_id) == set()
