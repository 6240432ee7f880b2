"""A removal Graph refuses for good (the group's last owner) is recorded, shown, audited once,
and retried only after the block, instead of by every tick for ever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import Directory, approved, engine_world, events, open_jobs, run_connector, tick
from jitgate.protocol.v1 import JobResult, Outcome, RevokePayload
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.grants.states import GrantStatus
from jitgate.server.jobs.models import JobKind
from jitgate.server.jobs.service import parse_payload
from jitgate.server.reconciler.blocked import BLOCKED_RETRY, count_blocked

HOUR = timedelta(hours=1)
LAST_OWNER = {
    "code": "GroupLastOwner",
    "message": "The group must have at least one owner, hence this owner cannot be removed.",
    "retryable": False,
}


class LastOwner(Directory):
    """Refuses every owner removal while ``refusing``, as Graph does for a group's last owner."""

    refusing: bool = True
    error: dict[str, object] = LAST_OWNER

    def respond(self, job):
        payload = parse_payload(job.kind, job.payload)
        if isinstance(payload, RevokePayload) and self.refusing:
            return JobResult(outcome=Outcome.FAILED, error=self.error)
        return super().respond(job)


def _grant(session, request):
    session.expire_all()
    return session.scalars(select(Grant).where(Grant.request_id == request.id)).one()


def _row(session):
    session.expire_all()
    return session.scalars(select(Membership)).one()


def _expired_and_refused(session, sessions, clock, directory):
    w = engine_world(session, clock)
    request = approved(session, clock, w)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    clock.advance(HOUR)
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.REVOKE]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    return w, request


def test_refused_removal_is_blocked_shown_and_audited_once(session, sessions, clock):
    directory = LastOwner()
    w, request = _expired_and_refused(session, sessions, clock, directory)
    grant = _grant(session, request)
    assert grant.status is GrantStatus.REVOKING, "the access is still held"
    assert "GroupLastOwner" in (grant.last_error or "")
    row = _row(session)
    assert (row.applied, row.revoke_blocked_code) == (True, "GroupLastOwner")
    assert row.revoke_blocked_until == clock.now() + BLOCKED_RETRY
    overdue = events(session, "revocation.overdue")
    assert [(e.target_id, e.after["code"]) for e in overdue] == [(row.id, "GroupLastOwner")]
    assert overdue[0].after["grant_ids"] == [grant.id]
    assert count_blocked(session) == 1

    clock.advance(BLOCKED_RETRY / 2)
    tick(sessions, clock)
    assert open_jobs(session) == [], "no retry inside the block"

    clock.advance(BLOCKED_RETRY)
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.REVOKE], "one more try after it"
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert len(events(session, "revocation.overdue")) == 1, "audited when it starts, not per try"
    assert _row(session).revoke_blocked_until == clock.now() + BLOCKED_RETRY

    directory.refusing = False  # an admin added another owner
    clock.advance(BLOCKED_RETRY)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert _grant(session, request).status is GrantStatus.ENDED
    row = _row(session)
    assert (row.applied, row.revoke_blocked_code, row.revoke_blocked_since) == (False, None, None)
    assert count_blocked(session) == 0


def test_a_retryable_failure_is_not_blocked(session, sessions, clock):
    directory = LastOwner()
    directory.error = {"code": "ServiceUnavailable", "message": "try later", "retryable": True}
    _expired_and_refused(session, sessions, clock, directory)
    assert _row(session).revoke_blocked_code is None
    assert events(session, "revocation.overdue") == []
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.REVOKE], "the next tick tries again"
