"""PIM mode: an extended request (or a later overlapping grant) moves Entra's expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import (
    Directory,
    approved,
    engine_world,
    events,
    open_jobs,
    overlapping_request,
    run_connector,
    tick,
)
from factories import actor_for
from jitgate.protocol.v1 import GrantData, GrantMode, GrantPayload, JobResult, Outcome, WriteOutcome
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.service import parse_payload
from jitgate.server.requests.lifecycle import extend_request
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

EXTENSIONS = {"max_extensions": 2, "extension_duration_min": 60}


def _membership(session) -> Membership:
    session.expire_all()
    return session.scalars(select(Membership)).one()


def _grant_end(session, request):
    session.expire_all()
    return session.scalars(select(Grant).where(Grant.request_id == request.id)).one().ends_at


def _granted(session, sessions, clock, w, directory):
    request = approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    session.expire_all()
    assert session.get(AccessRequest, request.id).status is RequestStatus.ACTIVE
    return request


def _extend(session, clock, w, request):
    extend_request(session=session, clock=clock, actor=actor_for(w.alice), request_id=request.id)
    session.commit()
    return _grant_end(session, request)


def _payload(job: Job) -> GrantPayload:
    payload = parse_payload(job.kind, job.payload)
    assert isinstance(payload, GrantPayload)
    return payload


def test_extension_moves_the_pim_expiry_once(session, sessions, clock):
    w = engine_world(session, clock, grant_mode=GrantMode.PIM, flow_settings=EXTENSIONS)
    directory = Directory()
    request = _granted(session, sessions, clock, w, directory)
    first_end = _grant_end(session, request)
    assert _membership(session).applied_ends_at == first_end, "the end Entra was given"
    clock.advance(timedelta(minutes=10))
    new_end = _extend(session, clock, w, request)
    assert new_end > first_end
    tick(sessions, clock)
    tick(sessions, clock)
    [job] = open_jobs(session)
    payload = _payload(job)
    assert (job.kind, payload.extend, payload.grant_mode) == (JobKind.GRANT, True, "pim")
    assert payload.ends_at == new_end
    assert _membership(session).job_kind == "extend"
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    row = _membership(session)
    assert (row.applied, row.applied_ends_at, row.job_id) == (True, new_end, None)
    [extended] = events(session, "membership.extend")
    assert extended.before["ends_at"] == first_end.isoformat()
    assert extended.after["ends_at"] == new_end.isoformat()
    assert extended.context["request_ids"]
    succeeded = [e for e in events(session, "job.succeeded") if e.target_id == job.id]
    assert len(succeeded) == 1
    tick(sessions, clock)
    assert open_jobs(session) == [], "Entra's expiry is where the grant ends: nothing to do"


def test_direct_mode_extension_needs_no_graph_write(session, sessions, clock):
    w = engine_world(session, clock, flow_settings=EXTENSIONS)
    directory = Directory()
    request = _granted(session, sessions, clock, w, directory)
    assert _membership(session).applied_ends_at is None
    _extend(session, clock, w, request)
    tick(sessions, clock)
    assert open_jobs(session) == []


def test_failed_extension_is_queued_again_by_the_next_tick(session, sessions, clock):
    w = engine_world(session, clock, grant_mode=GrantMode.PIM, flow_settings=EXTENSIONS)
    directory = Directory()
    request = _granted(session, sessions, clock, w, directory)
    first_end = _grant_end(session, request)
    new_end = _extend(session, clock, w, request)
    tick(sessions, clock)
    directory.fail.add("oid-alice")
    [failed] = run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    session.expire_all()
    assert session.get(Job, failed.id).status is JobStatus.FAILED
    assert _membership(session).applied_ends_at == first_end
    assert events(session, "membership.extend") == []
    tick(sessions, clock)
    [again] = open_jobs(session)
    assert again.id != failed.id
    assert _payload(again).extend
    directory.fail.clear()
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _membership(session).applied_ends_at == new_end


def test_extension_of_an_assignment_entra_dropped_grants_it_again(session, sessions, clock):
    w = engine_world(session, clock, grant_mode=GrantMode.PIM, flow_settings=EXTENSIONS)
    directory = Directory()
    request = _granted(session, sessions, clock, w, directory)
    new_end = _extend(session, clock, w, request)
    tick(sessions, clock)
    directory.holders(w.finance.external_id).discard("oid-alice")

    def absent(job: Job) -> JobResult:
        assert _payload(job).extend
        data = GrantData(outcome=WriteOutcome.ALREADY_ABSENT, request_ids=["graph-req-x"])
        return JobResult(outcome=Outcome.SUCCEEDED, data=data)

    run_connector(sessions, clock, w.integration.connector_id, absent)
    assert not _membership(session).applied
    [dropped] = events(session, "membership.extend")
    assert dropped.after["outcome"] == "already_absent"
    tick(sessions, clock)
    [grant] = open_jobs(session)
    assert (_payload(grant).extend, _payload(grant).ends_at) == (False, new_end)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    row = _membership(session)
    assert (row.applied, row.applied_ends_at) == (True, new_end)
    assert directory.holders(w.finance.external_id) == {"oid-alice"}


def test_later_overlapping_grant_extends_to_its_end(session, sessions, clock):
    w = engine_world(session, clock, grant_mode=GrantMode.PIM)
    directory = Directory()
    first = _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=20))
    second = overlapping_request(session, clock, first)
    later = _grant_end(session, second)
    assert later > _grant_end(session, first)
    tick(sessions, clock)
    [job] = open_jobs(session)
    assert (_payload(job).extend, _payload(job).ends_at) == (True, later)
    session.expire_all()
    assert session.get(AccessRequest, second.id).status is RequestStatus.ACTIVE
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _membership(session).applied_ends_at == later
