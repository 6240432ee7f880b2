from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import actor_for, make_flow, make_request
from jitgate.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jitgate.server.actor import Actor, Source
from jitgate.server.audit.models import AuditEvent
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.operations import submit_request
from jitgate.server.requests.read import dry_run_request
from jitgate.server.requests.schemas import RequestCreate
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY, audit_count, make_world


def _request_count(session):
    return session.scalar(select(func.count()).select_from(AccessRequest))


def _refused(session, clock, actor, error, **fields):
    before = (_request_count(session), audit_count(session))
    with pytest.raises(error) as caught:
        submit_request(session=session, clock=clock, actor=actor, data=RequestCreate(**fields))
    session.rollback()
    assert (_request_count(session), audit_count(session)) == before
    return caught.value


def test_no_approval_flow_approves_at_once_with_pending_grants(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, default_duration_min=90)
    before = audit_count(session)
    request = make_request(session, clock, w.alice, [w.finance, w.payroll])
    assert request.status is RequestStatus.APPROVED
    assert request.decided_at == clock.now()
    grants = session.scalars(select(Grant).where(Grant.request_id == request.id)).all()
    assert len(grants) == 2
    assert {g.status for g in grants} == {GrantStatus.PENDING}
    assert {g.ends_at - g.starts_at for g in grants} == {timedelta(minutes=90)}
    events = session.scalars(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [(e.action, e.after["status"]) for e in events] == [("request.submit", "approved")]


def test_automatic_flow_approves_at_once_even_with_a_policy(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, trigger="automatic", approver_policy=MANAGER_POLICY)
    assert make_request(session, clock, w.alice, [w.finance]).status is RequestStatus.APPROVED


def test_flow_choice_prefers_no_approval_then_name(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, "A approval", approver_policy=MANAGER_POLICY)
    make_flow(session, clock, w.integration, "C open")
    make_flow(session, clock, w.integration, "B open")
    assert make_request(session, clock, w.alice, [w.finance]).flow_name == "B open"


def test_no_flow_says_exactly_why(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        "Security only",
        requestors={"conditions": [{"type": "group", "values": ["Security"]}]},
    )
    make_flow(
        session,
        clock,
        w.integration,
        "Finance only",
        targets=[
            {
                "integration_id": w.integration.id,
                "resource_type": "entra-group",
                "permissions": ["member"],
                "scopes": [{"type": "name", "values": ["Finance"]}],
            }
        ],
    )
    error = _refused(
        session,
        clock,
        actor_for(w.alice),
        Forbidden,
        resource_ids=[w.payroll.id],
        permissions=["member"],
    )
    # A flow whose requestor conditions exclude alice is not hers to see: it goes unnamed.
    assert "Security only" not in error.detail
    assert "'Finance only': no target covers member on Payroll" in error.detail
    assert len(error.errors) == 1


def test_outside_the_time_window_is_403_and_changes_nothing(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        timeframe={"days_of_week": ["SAT", "SUN"], "start_time": "08:00", "end_time": "18:00"},
    )
    error = _refused(
        session,
        clock,
        actor_for(w.alice),
        Forbidden,
        resource_ids=[w.finance.id],
        permissions=["member"],
    )
    assert "can be used only SAT,SUN 08:00-18:00 UTC" in error.detail


def test_justification_duration_and_start_rules(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        max_duration_min=120,
        settings={"justification_required": True},
    )
    base = {"resource_ids": [w.finance.id], "permissions": ["member"]}
    alice = actor_for(w.alice)
    assert (
        _refused(session, clock, alice, ValidationFailed, **base).errors[0]["field"]
        == "justification"
    )
    error = _refused(
        session, clock, alice, ValidationFailed, justification="x", duration_min=121, **base
    )
    assert error.errors[0] == {
        "field": "duration_min",
        "message": "at most 120 minutes under flow 'Finance groups'",
    }
    error = _refused(
        session,
        clock,
        alice,
        ValidationFailed,
        justification="x",
        starts_at=clock.now() - timedelta(1),
        **base,
    )
    assert error.errors[0]["field"] == "starts_at"
    later = clock.now() + timedelta(hours=3)
    request = make_request(
        session, clock, w.alice, [w.finance], justification="audit", starts_at=later
    )
    assert request.duration_min == 60
    grant = session.scalars(select(Grant).where(Grant.request_id == request.id)).one()
    assert (grant.starts_at, grant.ends_at) == (later, later + timedelta(minutes=60))


def test_mfa_required_refuses_api_tokens_and_accepts_recent_mfa(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, settings={"mfa_required": True})
    fields = {"resource_ids": [w.finance.id], "permissions": ["member"]}
    error = _refused(session, clock, actor_for(w.alice), Forbidden, **fields)
    assert error.detail.startswith("this flow requires MFA")
    stale = Actor(
        w.alice.id,
        w.alice.upn,
        w.alice.role,
        actor_for(w.alice).source,
        clock.now() - timedelta(hours=2),
    )
    _refused(session, clock, stale, Forbidden, **fields)
    fresh = Actor(
        w.alice.id, w.alice.upn, w.alice.role, stale.source, clock.now() - timedelta(minutes=5)
    )
    request = submit_request(
        session=session, clock=clock, actor=fresh, data=RequestCreate(**fields)
    )
    assert request.status is RequestStatus.APPROVED


def test_duplicate_open_request_is_409(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    make_request(session, clock, w.alice, [w.finance])
    error = _refused(
        session,
        clock,
        actor_for(w.alice),
        Conflict,
        resource_ids=[w.finance.id, w.payroll.id],
        permissions=["member"],
    )
    assert "already has an open request for member on Finance" in error.detail


def test_request_for_others_and_direct_reports(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, "Self")
    fields = {"resource_ids": [w.finance.id], "permissions": ["member"]}
    error = _refused(session, clock, actor_for(w.boss), Forbidden, grantee=w.alice.upn, **fields)
    assert "does not allow requests for alice@contoso.example" in error.detail
    make_flow(session, clock, w.integration, "Reports", request_for={"scopes": ["direct_reports"]})
    request = make_request(session, clock, w.boss, [w.finance], grantee=w.alice.upn)
    assert (request.requester_id, request.grantee_id) == (w.boss.id, w.alice.id)
    _refused(session, clock, actor_for(w.boss), Forbidden, grantee=w.carol.upn, **fields)
    make_flow(
        session,
        clock,
        w.integration,
        "Others",
        request_for={
            "scopes": ["others"],
            "grantees": {"conditions": [{"type": "group", "values": ["Security"]}]},
        },
    )
    assert (
        make_request(session, clock, w.boss, [w.finance], grantee=w.carol.id).flow_name == "Others"
    )
    error = _refused(session, clock, actor_for(w.alice), Forbidden, grantee=w.admin.upn, **fields)
    assert "does not meet its grantee conditions" in error.detail


def test_unknown_resource_permission_or_flow(session, clock):
    w = make_world(session, clock)
    alice = actor_for(w.alice)
    _refused(session, clock, alice, ValidationFailed, resource_ids=["nope"], permissions=["member"])
    _refused(
        session, clock, alice, ValidationFailed, resource_ids=[w.finance.id], permissions=["active"]
    )
    _refused(
        session,
        clock,
        alice,
        NotFound,
        resource_ids=[w.finance.id],
        permissions=["member"],
        flow_id="x",
    )


def test_dry_run_writes_nothing_and_reports(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=MANAGER_POLICY,
        settings={"justification_required": True},
    )
    before = (_request_count(session), audit_count(session))
    result = dry_run_request(
        session=session,
        actor=actor_for(w.alice),
        data=RequestCreate(resource_ids=[w.finance.id], permissions=["member"], duration_min=999),
        now=clock.now(),
    )
    assert (_request_count(session), audit_count(session)) == before
    assert not result.eligible
    assert result.flow_name == "Finance groups"
    assert [p.upn for p in result.approvers] == [w.boss.upn]
    assert result.required_fields == ["justification"]
    assert (result.default_duration_min, result.max_duration_min) == (60, 480)
    assert len(result.problems) == 2
    refused = dry_run_request(
        session=session,
        actor=actor_for(w.alice),
        data=RequestCreate(resource_ids=[w.finance.id], permissions=["owner"]),
        now=clock.now(),
    )
    assert refused.flow_id is None
    assert refused.flows_considered[0].reasons == [
        "no target covers owner on Finance (entra-group)"
    ]


def test_the_submit_event_records_the_mfa_of_the_sign_in(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    actor = Actor(
        identity_id=w.alice.id,
        name=w.alice.upn,
        role=w.alice.role,
        source=Source.PORTAL,
        mfa_at=clock.now() - timedelta(minutes=5),
        amr=("pwd", "mfa"),
    )
    request = submit_request(
        session=session,
        clock=clock,
        actor=actor,
        data=RequestCreate(resource_ids=[w.finance.id], permissions=["member"]),
    )
    session.commit()
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "request.submit", AuditEvent.target_id == request.id
        )
    ).one()
    assert event.context["mfa"] == {
        "at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "amr": ["pwd", "mfa"],
    }
    plain = make_request(session, clock, w.bob, [w.finance])
    other = session.scalars(select(AuditEvent).where(AuditEvent.target_id == plain.id)).one()
    assert "mfa" not in other.context
