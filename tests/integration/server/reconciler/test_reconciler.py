"""Reconciler ticks with a stand-in connector: grants, expiry, overlap, standing, early revoke."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import (
    Directory,
    approved,
    engine_world,
    event_count,
    events,
    open_jobs,
    overlapping_request,
    run_connector,
    tick,
)
from factories import actor_for
from jitgate.server.grants.models import Grant, Membership, StandingMembership
from jitgate.server.grants.states import GrantStatus
from jitgate.server.jobs.models import JobKind, JobPriority
from jitgate.server.requests.lifecycle import revoke_request
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

HOUR = timedelta(hours=1)


def _status(session, request):
    session.expire_all()
    return session.get(AccessRequest, request.id).status


def _grant(session, request):
    session.expire_all()
    return session.scalars(select(Grant).where(Grant.request_id == request.id)).one()


def _cycle(sessions, clock, w, directory):
    return run_connector(sessions, clock, w.integration.connector_id, directory.respond)


def test_due_grant_goes_active_through_one_grant_job(session, sessions, clock):
    w = engine_world(session, clock)
    directory = Directory()
    request = approved(session, clock, w)
    report = tick(sessions, clock)
    assert [a.outcome for a in report.applied] == ["queued"]
    jobs = open_jobs(session)
    assert [(j.kind, j.priority) for j in jobs] == [(JobKind.GRANT, JobPriority.GRANT)]
    assert jobs[0].payload["principal_id"] == "oid-alice"
    assert _status(session, request) is RequestStatus.GRANTING
    tick(sessions, clock)
    assert len(open_jobs(session)) == 1, "a second tick queues nothing more"
    _cycle(sessions, clock, w, directory)
    assert _status(session, request) is RequestStatus.ACTIVE
    grant = _grant(session, request)
    assert (grant.status, grant.applied_at) == (GrantStatus.ACTIVE, clock.now())
    assert directory.holders(w.finance.external_id) == {"oid-alice"}
    audit = events(session, "job.succeeded")
    assert audit[-1].after["data"]["request_ids"] == ["graph-req-0"]
    assert [e.action for e in events(session, "grant.activate")] == ["grant.activate"]
    assert tick(sessions, clock).applied == []


def test_expiry_revokes_then_request_expires(session, sessions, clock):
    w = engine_world(session, clock)
    directory = Directory()
    request = approved(session, clock, w)
    tick(sessions, clock)
    _cycle(sessions, clock, w, directory)
    clock.advance(HOUR)
    report = tick(sessions, clock)
    assert report.expired_requests == [request.id]
    assert [(j.kind, j.priority) for j in open_jobs(session)] == [
        (JobKind.REVOKE, JobPriority.REVOKE)
    ]
    assert _status(session, request) is RequestStatus.REVOKING
    clock.advance(timedelta(seconds=3))
    _cycle(sessions, clock, w, directory)
    assert _status(session, request) is RequestStatus.EXPIRED
    assert directory.holders(w.finance.external_id) == set()
    grant = _grant(session, request)
    assert (grant.status, grant.removed_at) == (GrantStatus.ENDED, clock.now())
    assert events(session, "job.succeeded")[-1].after["data"]["request_ids"] == ["graph-req-1"]
    assert tick(sessions, clock).applied == []


def test_overlapping_grants_first_expiry_does_not_revoke(session, sessions, clock):
    w = engine_world(session, clock)
    directory = Directory()
    first = approved(session, clock, w)
    tick(sessions, clock)
    _cycle(sessions, clock, w, directory)
    clock.advance(HOUR / 2)
    second = overlapping_request(session, clock, first)
    report = tick(sessions, clock)
    assert [a.action.kind for a in report.applied] == ["activate"]
    assert open_jobs(session) == []
    assert _status(session, second) is RequestStatus.ACTIVE
    clock.advance(HOUR / 2)
    tick(sessions, clock)
    assert open_jobs(session) == [], "the later grant still covers the membership"
    assert _status(session, first) is RequestStatus.EXPIRED
    assert directory.holders(w.finance.external_id) == {"oid-alice"}
    clock.advance(HOUR / 2)
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.REVOKE]
    _cycle(sessions, clock, w, directory)
    assert _status(session, second) is RequestStatus.EXPIRED
    assert directory.holders(w.finance.external_id) == set()


def test_already_present_is_standing_and_survives_expiry(session, sessions, clock):
    w = engine_world(session, clock)
    directory = Directory()
    directory.holders(w.finance.external_id).add("oid-alice")
    request = approved(session, clock, w)
    tick(sessions, clock)
    before = event_count(session)
    _cycle(sessions, clock, w, directory)
    assert _status(session, request) is RequestStatus.ACTIVE
    standing = session.scalars(select(StandingMembership)).one()
    assert (standing.principal_id, standing.source) == ("oid-alice", "already_present")
    actions = [e.action for e in events(session, "membership.standing")]
    assert actions == ["membership.standing"]
    # one event each: the Graph write (job.succeeded), the standing record, the activation
    assert event_count(session) == before + 3
    membership = session.scalars(select(Membership)).one()
    assert not membership.applied
    clock.advance(HOUR)
    tick(sessions, clock)
    assert open_jobs(session) == [], "the broker never removes access it did not give"
    assert _status(session, request) is RequestStatus.EXPIRED
    assert directory.holders(w.finance.external_id) == {"oid-alice"}


def test_revoke_before_start_ends_without_graph(session, sessions, clock):
    w = engine_world(session, clock)
    request = approved(session, clock, w, starts_at=clock.now() + 2 * HOUR)
    assert tick(sessions, clock).applied == []
    revoke_request(session=session, clock=clock, actor=actor_for(w.alice), request_id=request.id)
    session.commit()
    report = tick(sessions, clock)
    assert [a.action.kind for a in report.applied] == ["mark_ended"]
    assert open_jobs(session) == []
    assert _status(session, request) is RequestStatus.REVOKED
    assert _grant(session, request).applied_at is None


def test_failed_grant_write_fails_the_request(session, sessions, clock):
    w = engine_world(session, clock)
    directory = Directory(fail={"oid-alice"})
    request = approved(session, clock, w)
    tick(sessions, clock)
    _cycle(sessions, clock, w, directory)
    assert _status(session, request) is RequestStatus.FAILED
    assert events(session, "job.failed")
    assert tick(sessions, clock).applied == []


def test_dry_run_changes_nothing(session, sessions, clock):
    w = engine_world(session, clock)
    request = approved(session, clock, w)
    before = event_count(session)
    report = tick(sessions, clock, dry_run=True)
    assert [a.outcome for a in report.applied] == ["dry-run"]
    assert report.lines()
    assert open_jobs(session) == []
    assert event_count(session) == before
    assert _status(session, request) is RequestStatus.APPROVED


def test_identity_without_object_id_fails_its_grant(session, sessions, clock):
    w = engine_world(session, clock)
    w.alice.object_id = None
    session.commit()
    request = approved(session, clock, w)
    report = tick(sessions, clock)
    assert report.failed_grants == [_grant(session, request).id]
    assert _status(session, request) is RequestStatus.FAILED
