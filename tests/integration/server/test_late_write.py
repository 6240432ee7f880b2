"""A grant write whose answer was lost may land after the revoke: verified, removed again.

``LateDirectory`` answers grant writes with ``ambiguous_write`` (the connector's client gave up
on one try's answer) and keeps that try to land later, when the test says so.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import Directory, approved, engine_world, events, open_jobs, run_connector, tick
from factories import actor_for
from jitgate.protocol.v1 import (
    GrantData,
    GrantPayload,
    JobResult,
    Outcome,
    Permission,
    ReadMembershipPayload,
    ResourceType,
)
from jitgate.server.grants.models import Membership, StandingMembership
from jitgate.server.integrations.models import IntegrationStatus
from jitgate.server.jobs.models import Job, JobKind
from jitgate.server.jobs.operations import enqueue_job
from jitgate.server.jobs.service import parse_payload
from jitgate.server.reconciler.late_write import DEFAULT_LATE_WRITE_WINDOW
from jitgate.server.reconciler.tick import ReconcilerConfig
from jitgate.server.requests.lifecycle import revoke_request
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

DRIFT = ReconcilerConfig(
    periodic=True, drift_interval=timedelta(minutes=15), pim_grace=timedelta(minutes=5)
)


class LateDirectory(Directory):
    """Grant writes are ambiguous: the lost try is kept in ``in_flight`` until ``land()``."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.in_flight: list[tuple[str, str]] = []

    def respond(self, job: Job) -> JobResult:
        result = super().respond(job)
        payload = parse_payload(job.kind, job.payload)
        if isinstance(payload, GrantPayload) and isinstance(result.data, GrantData):
            self.in_flight.append((payload.resource_external_id, payload.principal_id))
            data = result.data.model_copy(update={"ambiguous_write": True})
            return result.model_copy(update={"data": data})
        return result

    def land(self) -> None:
        for resource, principal in self.in_flight:
            self.holders(resource).add(principal)
        self.in_flight.clear()


def _row(session) -> Membership:
    session.expire_all()
    return session.scalars(select(Membership)).one()


def _granted_then_revoked(session, sessions, clock, w, directory):
    request = approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    clock.advance(timedelta(seconds=30))
    revoke_request(session=session, clock=clock, actor=actor_for(w.alice), request_id=request.id)
    session.commit()
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    session.expire_all()
    assert session.get(AccessRequest, request.id).status is RequestStatus.REVOKED
    return request


def test_an_ambiguous_grant_write_is_recorded_on_the_membership(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, LateDirectory().respond)
    row = _row(session)
    assert row.applied
    assert row.late_write_until == clock.now() + DEFAULT_LATE_WRITE_WINDOW
    assert [e.after["principal_id"] for e in events(session, "membership.ambiguous_write")] == [
        "oid-alice"
    ]


def test_already_present_after_a_lost_answer_is_ours_not_standing(session, sessions, clock):
    """The retry found the first (timed-out) try's member: the broker's, removable at expiry."""
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = LateDirectory()
    directory.holders(w.finance.external_id).add("oid-alice")  # the first try landed
    approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert session.scalars(select(StandingMembership)).all() == []
    assert _row(session).applied


def test_a_revoke_inside_the_window_is_verified_and_a_late_landing_removed(
    session, sessions, clock
):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = LateDirectory()
    _granted_then_revoked(session, sessions, clock, w, directory)
    until = _row(session).late_write_until
    assert until is not None
    assert until > clock.now()
    (read,) = open_jobs(session, JobKind.READ_MEMBERSHIP)
    assert read.run_after == until  # not before a late write can no longer land
    directory.land()  # the timed-out add lands after the revoke
    assert "oid-alice" in directory.holders(w.finance.external_id)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert open_jobs(session, JobKind.READ_MEMBERSHIP), "not run before the window ends"
    clock.advance(DEFAULT_LATE_WRITE_WINDOW)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)  # the read
    assert [e.after["principal_id"] for e in events(session, "membership.late_write")] == [
        "oid-alice"
    ]
    assert events(session, "drift.unknown_member") == []
    assert session.scalars(select(StandingMembership)).all() == []
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)  # the revoke
    assert "oid-alice" not in directory.holders(w.finance.external_id)
    row = _row(session)
    assert not row.applied
    assert row.late_write_until is None  # removed after the window: final
    assert open_jobs(session) == []


def test_a_verify_read_that_finds_nothing_closes_the_window(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = LateDirectory()
    _granted_then_revoked(session, sessions, clock, w, directory)
    directory.in_flight.clear()  # this time the lost try never lands
    clock.advance(DEFAULT_LATE_WRITE_WINDOW)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert events(session, "membership.late_write") == []
    assert _row(session).late_write_until is None
    assert open_jobs(session) == []
    # Later presence is someone else's doing: additive drift keeps it as standing, as usual.
    directory.holders(w.finance.external_id).add("oid-alice")
    clock.advance(timedelta(minutes=20))
    tick(sessions, clock, DRIFT)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert [e.after["principal_id"] for e in events(session, "drift.unknown_member")] == [
        "oid-alice"
    ]


def test_a_drift_read_inside_the_window_does_not_record_a_late_landing_as_standing(
    session, sessions, clock
):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = LateDirectory()
    _granted_then_revoked(session, sessions, clock, w, directory)
    directory.land()
    clock.advance(timedelta(minutes=1))  # still inside the window
    enqueue_job(  # any other read of the resource (an admin's, a PIM check) now
        session=session,
        clock=clock,
        connector_id=w.integration.connector_id,
        payload=ReadMembershipPayload(
            resource_type=ResourceType(w.finance.type),
            resource_external_id=w.finance.external_id,
            permission=Permission.MEMBER,
        ),
        integration_id=w.integration.id,
    )
    session.commit()
    assert len(open_jobs(session, JobKind.READ_MEMBERSHIP)) == 2  # and the verify read, later
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert session.scalars(select(StandingMembership)).all() == []
    assert [e.after["principal_id"] for e in events(session, "membership.late_write")] == [
        "oid-alice"
    ]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)  # the revoke
    assert "oid-alice" not in directory.holders(w.finance.external_id)


def test_a_failed_ambiguous_grant_is_verified_too(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)

    def fail(job: Job) -> JobResult:
        error = {"code": "Forbidden", "message": "no", "ambiguous_write": True}
        return JobResult(outcome=Outcome.FAILED, error=error)

    approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, fail)
    (read,) = open_jobs(session, JobKind.READ_MEMBERSHIP)
    assert read.run_after == _row(session).late_write_until
    directory = Directory()
    directory.holders(w.finance.external_id).add("oid-alice")  # it landed after all
    clock.advance(DEFAULT_LATE_WRITE_WINDOW)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert len(events(session, "membership.late_write")) == 1
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert directory.holders(w.finance.external_id) == set()
