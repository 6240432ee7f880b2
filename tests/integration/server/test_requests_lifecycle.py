from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import actor_for, make_flow, make_request
from jitgate.core.errors import Conflict, Forbidden, NotFound
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import EndReason, GrantStatus
from jitgate.server.requests.granting import (
    activate_grant,
    begin_granting,
    expire_grants,
    fail_grant,
    revoke_grant,
)
from jitgate.server.requests.lifecycle import cancel_request, extend_request, revoke_request
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY, audit_count, make_world, snapshot

EXTENSIONS = {"max_extensions": 2, "extension_duration_min": 60}


def _grants(session, request):
    session.expire_all()
    return session.scalars(
        select(Grant).where(Grant.request_id == request.id).order_by(Grant.id)
    ).all()


def _one_event(session, op, **kwargs):
    before = audit_count(session)
    result = op(session=session, **kwargs)
    session.commit()
    assert audit_count(session) == before + 1
    return result


def _refused(session, request, error, op, **kwargs):
    before = snapshot(session, request.id)
    ends = [g.ends_at for g in _grants(session, request)]
    with pytest.raises(error) as caught:
        op(session=session, request_id=request.id, **kwargs)
    session.rollback()
    assert snapshot(session, request.id) == before
    assert [g.ends_at for g in _grants(session, request)] == ends
    return caught.value


def _activate(session, clock, request):
    _one_event(session, begin_granting, clock=clock, request_id=request.id)
    for grant in _grants(session, request):
        _one_event(session, activate_grant, clock=clock, grant_id=grant.id)
    session.refresh(request)
    assert request.status is RequestStatus.ACTIVE


def test_whole_lifecycle_to_expired(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    request = make_request(session, clock, w.alice, [w.finance, w.payroll])
    _one_event(
        session, approve_request, clock=clock, actor=actor_for(w.boss), request_id=request.id
    )
    _one_event(session, begin_granting, clock=clock, request_id=request.id)
    first, second = _grants(session, request)
    _one_event(session, activate_grant, clock=clock, grant_id=first.id)
    session.refresh(request)
    assert request.status is RequestStatus.GRANTING
    _one_event(session, activate_grant, clock=clock, grant_id=second.id)
    session.refresh(request)
    assert request.status is RequestStatus.ACTIVE
    clock.advance(timedelta(minutes=59))
    assert expire_grants(session=session, clock=clock) == []
    clock.advance(timedelta(minutes=1))
    before = audit_count(session)
    assert expire_grants(session=session, clock=clock) == [request.id]
    session.commit()
    assert audit_count(session) == before + 1
    session.refresh(request)
    assert request.status is RequestStatus.REVOKING
    grants = _grants(session, request)
    assert {(g.status, g.end_reason, g.ended_by) for g in grants} == {
        (GrantStatus.REVOKING, EndReason.EXPIRED, "system")
    }
    for grant in grants:
        _one_event(session, revoke_grant, clock=clock, grant_id=grant.id)
    session.refresh(request)
    assert request.status is RequestStatus.EXPIRED
    assert {g.status for g in _grants(session, request)} == {GrantStatus.ENDED}


def test_failed_grant_fails_the_request(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    request = make_request(session, clock, w.alice, [w.finance, w.payroll])
    _one_event(session, begin_granting, clock=clock, request_id=request.id)
    first, second = _grants(session, request)
    _one_event(session, activate_grant, clock=clock, grant_id=first.id)
    _one_event(session, fail_grant, clock=clock, grant_id=second.id, error="Graph 403")
    session.refresh(request)
    assert request.status is RequestStatus.FAILED
    first, second = _grants(session, request)
    assert (first.status, first.end_reason) == (GrantStatus.REVOKING, EndReason.FAILED)
    assert (second.status, second.last_error) == (GrantStatus.FAILED, "Graph 403")
    with pytest.raises(Conflict):
        activate_grant(session=session, clock=clock, grant_id=second.id)


def test_cancel_pending_and_approved_not_started(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, "Manager", approver_policy=MANAGER_POLICY)
    pending = make_request(session, clock, w.alice, [w.finance])
    _refused(session, pending, Forbidden, cancel_request, clock=clock, actor=actor_for(w.boss))
    result = _one_event(
        session, cancel_request, clock=clock, actor=actor_for(w.alice), request_id=pending.id
    )
    assert result.status is RequestStatus.CANCELLED
    _refused(session, pending, Conflict, cancel_request, clock=clock, actor=actor_for(w.alice))
    approved = make_request(session, clock, w.bob, [w.finance])
    _one_event(
        session, approve_request, clock=clock, actor=actor_for(w.boss), request_id=approved.id
    )
    _one_event(session, cancel_request, clock=clock, actor=actor_for(w.bob), request_id=approved.id)
    assert {(g.status, g.end_reason) for g in _grants(session, approved)} == {
        (GrantStatus.ENDED, EndReason.CANCELLED)
    }


def test_cannot_cancel_once_granting(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    request = make_request(session, clock, w.alice, [w.finance])
    _activate(session, clock, request)
    error = _refused(
        session, request, Conflict, cancel_request, clock=clock, actor=actor_for(w.alice)
    )
    assert "active" in error.detail


def test_extend_moves_ends_within_count_and_maximum(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, max_duration_min=180, settings=EXTENSIONS)
    request = make_request(session, clock, w.alice, [w.finance], duration_min=120)
    end = _grants(session, request)[0].ends_at
    _one_event(
        session, extend_request, clock=clock, actor=actor_for(w.alice), request_id=request.id
    )
    assert {g.ends_at for g in _grants(session, request)} == {end + timedelta(minutes=60)}
    # 180 minutes left now; one more hour would exceed the flow's maximum of 180.
    error = _refused(
        session, request, Forbidden, extend_request, clock=clock, actor=actor_for(w.alice)
    )
    assert "allows at most 180 minutes" in error.detail
    clock.advance(timedelta(minutes=90))
    _activate(session, clock, request)
    _one_event(
        session, extend_request, clock=clock, actor=actor_for(w.admin), request_id=request.id
    )
    clock.advance(timedelta(minutes=120))
    error = _refused(
        session, request, Forbidden, extend_request, clock=clock, actor=actor_for(w.alice)
    )
    assert error.detail == "no extensions left: flow 'Finance groups' allows 2"


def test_extend_refusals(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, "No extensions")
    plain = make_request(session, clock, w.alice, [w.finance])
    error = _refused(
        session, plain, Forbidden, extend_request, clock=clock, actor=actor_for(w.alice)
    )
    assert error.detail == "flow 'No extensions' allows no extensions"
    make_flow(
        session,
        clock,
        w.integration,
        "Extensions",
        settings=EXTENSIONS,
        targets=[
            {
                "integration_id": w.integration.id,
                "resource_type": "entra-group",
                "permissions": ["owner"],
            }
        ],
    )
    owner = make_request(session, clock, w.alice, [w.finance], permissions=["owner"])
    _refused(session, owner, NotFound, extend_request, clock=clock, actor=actor_for(w.bob))
    _one_event(session, revoke_request, clock=clock, actor=actor_for(w.alice), request_id=owner.id)
    _refused(session, owner, Conflict, extend_request, clock=clock, actor=actor_for(w.alice))


def test_revoke_by_grantee_requester_or_admin_only(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, request_for={"scopes": ["self", "direct_reports"]})
    request = make_request(session, clock, w.boss, [w.finance], grantee=w.alice.upn)
    _activate(session, clock, request)
    error = _refused(
        session, request, NotFound, revoke_request, clock=clock, actor=actor_for(w.bob)
    )
    assert error.detail.startswith("no access request")  # bob may not read it: hidden
    clock.advance(timedelta(minutes=10))
    result = _one_event(
        session, revoke_request, clock=clock, actor=actor_for(w.alice), request_id=request.id
    )
    assert (result.status, result.end_reason) == (RequestStatus.REVOKING, "revoked")
    (grant,) = _grants(session, request)
    assert (grant.status, grant.ended_at, grant.ended_by, grant.end_reason) == (
        GrantStatus.REVOKING,
        clock.now(),
        w.alice.upn,
        EndReason.REVOKED,
    )
    _refused(session, request, Conflict, revoke_request, clock=clock, actor=actor_for(w.admin))
    _one_event(session, revoke_grant, clock=clock, grant_id=grant.id)
    session.refresh(request)
    assert request.status is RequestStatus.REVOKED
    other = make_request(session, clock, w.bob, [w.payroll])
    _one_event(session, revoke_request, clock=clock, actor=actor_for(w.admin), request_id=other.id)
