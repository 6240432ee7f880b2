"""Guests for external grantees: invited before the grant, deleted N days after the last one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from engine_world import (
    Directory,
    approved,
    engine_world,
    events,
    open_jobs,
    run_connector,
    tick,
)
from factories import actor_for
from jitgate.protocol.v1 import (
    DeleteUserData,
    DeleteUserPayload,
    InviteGuestData,
    InviteGuestPayload,
    JobResult,
    Outcome,
    WriteOutcome,
)
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.guests.models import InvitedGuest
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.operations import update_integration
from jitgate.server.integrations.schemas import IntegrationUpdate
from jitgate.server.jobs.models import Job, JobKind, JobPriority
from jitgate.server.jobs.service import parse_payload
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.states import RequestStatus

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass
class Tenant(Directory):
    """The stand-in directory, with users that invitations create and deletions remove."""

    users: dict[str, str] = field(default_factory=dict)  # mail -> object id
    invited: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def respond(self, job: Job) -> JobResult:
        payload = parse_payload(job.kind, job.payload)
        if isinstance(payload, InviteGuestPayload):
            created = payload.email not in self.users
            if created:
                self.users[payload.email] = f"guest-{len(self.users)}"
                self.invited.append(payload.email)
            data = InviteGuestData(user_id=self.users[payload.email], created=created)
            return JobResult(outcome=Outcome.SUCCEEDED, data=data)
        if isinstance(payload, DeleteUserPayload):
            present = payload.user_id in self.users.values()
            self.users = {m: u for m, u in self.users.items() if u != payload.user_id}
            self.deleted.append(payload.user_id)
            outcome = WriteOutcome.APPLIED if present else WriteOutcome.ALREADY_ABSENT
            return JobResult(outcome=Outcome.SUCCEEDED, data=DeleteUserData(outcome=outcome))
        return super().respond(job)


def _external(session, w):
    w.alice.object_id = None
    session.commit()


def _cycle(sessions, clock, w, tenant):
    return run_connector(sessions, clock, w.integration.connector_id, tenant.respond)


def _alice(session, w) -> Identity:
    session.expire_all()
    identity = session.get(Identity, w.alice.id)
    assert identity is not None
    return identity


def _status(session, request) -> RequestStatus:
    session.expire_all()
    return session.get(AccessRequest, request.id).status


def _granted(session, sessions, clock, w, tenant):
    """Approve, invite, grant: alice ends up an active guest member of finance."""
    request = approved(session, clock, w)
    tick(sessions, clock)
    _cycle(sessions, clock, w, tenant)  # the invitation
    tick(sessions, clock)
    _cycle(sessions, clock, w, tenant)  # the grant
    assert _status(session, request) is RequestStatus.ACTIVE
    return request


def _expire(session, sessions, clock, w, tenant, *, request):
    clock.advance(HOUR)
    tick(sessions, clock)
    _cycle(sessions, clock, w, tenant)
    assert _status(session, request) is RequestStatus.EXPIRED


def test_without_invite_guests_the_grant_fails_saying_so(session, sessions, clock):
    w = engine_world(session, clock)
    _external(session, w)
    request = approved(session, clock, w)
    report = tick(sessions, clock)
    grant_id = session.scalars(select(Grant.id).where(Grant.request_id == request.id)).one()
    assert report.failed_grants == [grant_id]
    assert "invite_guests is off" in report.failure_reasons[grant_id]
    assert open_jobs(session) == []
    assert _status(session, request) is RequestStatus.FAILED
    assert "invite_guests" in (session.get(Grant, grant_id).last_error or "")


def test_invite_then_grant(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True)
    _external(session, w)
    tenant = Tenant()
    request = approved(session, clock, w)
    report = tick(sessions, clock)
    jobs = open_jobs(session)
    assert [(j.kind, j.priority) for j in jobs] == [(JobKind.INVITE_GUEST, JobPriority.GRANT)]
    assert report.invite_jobs == [jobs[0].id]
    assert jobs[0].payload["email"] == "alice@contoso.example"
    assert jobs[0].payload["redirect_url"] == "https://myapplications.microsoft.com"
    assert tick(sessions, clock).invite_jobs == [], "one invitation at a time"
    assert len(open_jobs(session)) == 1
    _cycle(sessions, clock, w, tenant)
    alice = _alice(session, w)
    assert alice.object_id == "guest-0"
    guest = session.scalars(select(InvitedGuest)).one()
    assert (guest.identity_id, guest.entra_user_id, guest.deleted_at) == (
        alice.id,
        "guest-0",
        None,
    )
    invite = events(session, "guest.invite")
    assert [e.after["created"] for e in invite] == [True]
    tick(sessions, clock)
    grant_jobs = open_jobs(session, JobKind.GRANT)
    assert [j.payload["principal_id"] for j in grant_jobs] == ["guest-0"]
    _cycle(sessions, clock, w, tenant)
    assert _status(session, request) is RequestStatus.ACTIVE
    assert tenant.holders(w.finance.external_id) == {"guest-0"}


def test_an_existing_user_is_reused_and_never_deleted(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True, user_cleanup_days=1)
    _external(session, w)
    tenant = Tenant(users={"alice@contoso.example": "already-there"})
    request = _granted(session, sessions, clock, w, tenant)
    assert _alice(session, w).object_id == "already-there"
    assert tenant.invited == []
    assert session.scalars(select(InvitedGuest)).all() == []
    assert [e.after["recorded"] for e in events(session, "guest.invite")] == [False]
    _expire(session, sessions, clock, w, tenant, request=request)
    clock.advance(30 * DAY)
    assert tick(sessions, clock).delete_user_jobs == []
    assert open_jobs(session, JobKind.DELETE_USER) == []
    assert tenant.deleted == []


def test_invited_guest_is_deleted_n_days_after_its_last_grant(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True, user_cleanup_days=2)
    _external(session, w)
    tenant = Tenant()
    request = _granted(session, sessions, clock, w, tenant)
    assert tick(sessions, clock).delete_user_jobs == [], "a live grant: never"
    _expire(session, sessions, clock, w, tenant, request=request)
    clock.advance(2 * DAY - timedelta(seconds=1))
    assert tick(sessions, clock).delete_user_jobs == []
    clock.advance(timedelta(seconds=1))
    report = tick(sessions, clock)
    jobs = open_jobs(session, JobKind.DELETE_USER)
    assert report.delete_user_jobs == [j.id for j in jobs]
    assert [j.payload["user_id"] for j in jobs] == ["guest-0"]
    assert tick(sessions, clock).delete_user_jobs == [], "one deletion at a time"
    _cycle(sessions, clock, w, tenant)
    assert tenant.deleted == ["guest-0"]
    session.expire_all()
    guest = session.scalars(select(InvitedGuest)).one()
    assert guest.deleted_at == clock.now()
    assert _alice(session, w).object_id is None
    deleted = events(session, "guest.delete")
    assert [e.before["entra_user_id"] for e in deleted] == ["guest-0"]
    clock.advance(10 * DAY)
    assert tick(sessions, clock).delete_user_jobs == []


def test_a_new_live_grant_cancels_the_cleanup(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True, user_cleanup_days=2)
    _external(session, w)
    tenant = Tenant()
    first = _granted(session, sessions, clock, w, tenant)
    _expire(session, sessions, clock, w, tenant, request=first)
    clock.advance(DAY)
    again = approved(session, clock, w, resources=[w.payroll])
    tick(sessions, clock)
    _cycle(sessions, clock, w, tenant)
    assert _status(session, again) is RequestStatus.ACTIVE
    assert tenant.invited == ["alice@contoso.example"], "the guest is reused, not invited again"
    clock.advance(2 * DAY - HOUR)  # past the first grant's window; the second still runs
    session.expire_all()
    grant = session.scalars(select(Grant).where(Grant.request_id == again.id)).one()
    assert grant.status is GrantStatus.ACTIVE
    grant.ends_at = clock.now() + 30 * DAY  # keep it live across the cleanup window
    session.commit()
    assert tick(sessions, clock).delete_user_jobs == []
    assert tenant.deleted == []


def test_a_missing_guest_counts_as_deleted(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True, user_cleanup_days=1)
    _external(session, w)
    tenant = Tenant()
    request = _granted(session, sessions, clock, w, tenant)
    _expire(session, sessions, clock, w, tenant, request=request)
    tenant.users.clear()  # removed by hand in Entra meanwhile
    clock.advance(DAY)
    tick(sessions, clock)
    _cycle(sessions, clock, w, tenant)
    session.expire_all()
    assert session.scalars(select(InvitedGuest)).one().deleted_at == clock.now()
    assert [e.after["outcome"] for e in events(session, "guest.delete")] == ["already_absent"]


def test_without_cleanup_days_an_invited_guest_is_kept(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True)
    _external(session, w)
    tenant = Tenant()
    request = _granted(session, sessions, clock, w, tenant)
    _expire(session, sessions, clock, w, tenant, request=request)
    clock.advance(400 * DAY)
    assert tick(sessions, clock).delete_user_jobs == []
    assert session.scalars(select(InvitedGuest)).one().deleted_at is None


def test_a_failed_invitation_fails_the_grant(session, sessions, clock):
    w = engine_world(session, clock, invite_guests=True)
    _external(session, w)
    request = approved(session, clock, w)
    tick(sessions, clock)

    def forbidden(job: Job) -> JobResult:
        error = {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}
        return JobResult(outcome=Outcome.FAILED, error=error)

    run_connector(sessions, clock, w.integration.connector_id, forbidden)
    assert _status(session, request) is RequestStatus.FAILED
    grant = session.scalars(select(Grant).where(Grant.request_id == request.id)).one()
    assert "Authorization_RequestDenied" in (grant.last_error or "")
    assert _alice(session, w).object_id is None


def test_turning_guests_on_queues_a_self_check_with_their_permissions(session, clock):
    w = engine_world(session, clock)
    admin = actor_for(w.admin)
    update_integration(
        session=session,
        clock=clock,
        actor=admin,
        integration_id=w.integration.id,
        data=IntegrationUpdate(custom_access_details="Sign in again."),
    )
    session.commit()
    assert open_jobs(session, JobKind.SELF_CHECK) == [], "nothing guest-related changed"
    update_integration(
        session=session,
        clock=clock,
        actor=admin,
        integration_id=w.integration.id,
        data=IntegrationUpdate(invite_guests=True, user_cleanup_days=30),
    )
    session.commit()
    checks = open_jobs(session, JobKind.SELF_CHECK)
    assert [(j.payload["invite_guests"], j.payload["delete_users"]) for j in checks] == [
        (True, True)
    ]


def test_an_invited_guest_joins_the_connectors_tenant_and_another_tenants_user_is_refused(
    session, sessions, clock
):
    w = engine_world(session, clock, invite_guests=True)
    _external(session, w)
    w.boss.tenant_id, w.boss.object_id = "another-tenant", "guest-0"
    session.commit()
    request = approved(session, clock, w)
    tick(sessions, clock)
    _cycle(sessions, clock, w, Tenant())  # answers with the other tenant's object id
    assert _status(session, request) is RequestStatus.FAILED
    assert (_alice(session, w).object_id, _alice(session, w).tenant_id) == (None, None)
    w.boss.object_id = "u-boss-elsewhere"
    session.commit()
    _granted(session, sessions, clock, w, Tenant())
    alice = _alice(session, w)
    assert (alice.object_id, alice.tenant_id) == (
        "guest-0",
        f"connector:{w.integration.connector_id}",
    )
