from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import actor_for, make_flow, make_identity, make_request
from jitgate.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jitgate.server.grants.models import Grant
from jitgate.server.requests.operations import approve_request, reject_request
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY, audit_count, make_world, snapshot

SECURITY = {"type": "group", "values": ["Security"]}


def _policy(mode, *groups):
    return {"approval_mode": mode, "approver_groups": list(groups)}


def _approve(session, clock, who, request, reason=None):
    before = audit_count(session)
    result = approve_request(
        session=session, clock=clock, actor=actor_for(who), request_id=request.id, reason=reason
    )
    session.commit()
    assert audit_count(session) == before + 1
    return result


def _refused(session, clock, who, request, error, *, op=approve_request, reason=None):
    before = snapshot(session, request.id)
    with pytest.raises(error) as caught:
        op(session=session, clock=clock, actor=actor_for(who), request_id=request.id, reason=reason)
    session.rollback()
    assert snapshot(session, request.id) == before
    return caught.value


def _grants(session, request):
    return session.scalars(select(Grant).where(Grant.request_id == request.id)).all()


def test_manager_approval_creates_grants(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    request = make_request(session, clock, w.alice, [w.finance])
    assert _grants(session, request) == []
    clock.advance(timedelta(minutes=5))
    result = _approve(session, clock, w.boss, request)
    assert result.status is RequestStatus.APPROVED
    (grant,) = _grants(session, request)
    assert (grant.starts_at, grant.ends_at) == (clock.now(), clock.now() + timedelta(minutes=60))


def test_all_of_waits_for_every_group_and_one_cannot_decide_twice(session, clock):
    w = make_world(session, clock)
    policy = _policy(
        "ALL_OF",
        {"approvers": [MANAGER_POLICY["approver_groups"][0]["approvers"][0]]},
        {"approvers": [SECURITY]},
    )
    make_flow(session, clock, w.integration, approver_policy=policy)
    request = make_request(session, clock, w.alice, [w.payroll])
    assert _approve(session, clock, w.boss, request).status is RequestStatus.PENDING
    error = _refused(session, clock, w.boss, request, Conflict)
    assert error.detail == "you have already decided this request"
    assert _approve(session, clock, w.carol, request).status is RequestStatus.APPROVED
    _refused(session, clock, w.carol, request, Conflict)


def test_any_of_one_group_is_enough(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=_policy(
            "ANY_OF", *MANAGER_POLICY["approver_groups"], {"approvers": [SECURITY]}
        ),
    )
    request = make_request(session, clock, w.alice, [w.payroll])
    assert _approve(session, clock, w.carol, request).status is RequestStatus.APPROVED


def test_two_of_m_quorum(session, clock):
    w = make_world(session, clock)
    dave = make_identity(
        session, clock, "dave@contoso.example", groups=[{"id": "g-sec", "name": "Security"}]
    )
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=_policy("ANY_OF", {"approvers": [SECURITY], "min_approvals": 2}),
    )
    request = make_request(session, clock, w.alice, [w.payroll])
    assert _approve(session, clock, w.carol, request).status is RequestStatus.PENDING
    assert _approve(session, clock, dave, request).status is RequestStatus.APPROVED


def test_escalation_tier_unlocks_after_the_interval(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=MANAGER_POLICY,
        escalation_policy={"interval_min": 30, "tiers": [[{"approvers": [SECURITY]}]]},
    )
    request = make_request(session, clock, w.alice, [w.payroll])
    clock.advance(timedelta(minutes=29))
    _refused(session, clock, w.carol, request, NotFound)
    clock.advance(timedelta(minutes=1))
    result = _approve(session, clock, w.carol, request)
    assert result.status is RequestStatus.APPROVED


def test_earlier_tier_keeps_the_right_after_escalation(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=MANAGER_POLICY,
        escalation_policy={"interval_min": 1, "tiers": [[{"approvers": [SECURITY]}]]},
    )
    request = make_request(session, clock, w.alice, [w.payroll])
    clock.advance(timedelta(hours=5))
    assert _approve(session, clock, w.boss, request).status is RequestStatus.APPROVED


def test_resource_owner_and_integration_owner_approvers(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        "Owners",
        approver_policy=_policy("ANY_OF", {"approvers": [{"type": "resource_owner"}]}),
    )
    request = make_request(session, clock, w.alice, [w.finance])
    _refused(session, clock, w.boss, request, NotFound)
    assert _approve(session, clock, w.carol, request).status is RequestStatus.APPROVED
    # Payroll has no owner: the integration owner (admin) stands in.
    unowned = make_request(session, clock, w.alice, [w.payroll])
    _refused(session, clock, w.carol, unowned, NotFound)
    assert _approve(session, clock, w.admin, unowned).status is RequestStatus.APPROVED


def test_integration_owner_approver(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=_policy("ANY_OF", {"approvers": [{"type": "integration_owner"}]}),
    )
    request = make_request(session, clock, w.bob, [w.finance])
    _refused(session, clock, w.carol, request, NotFound)
    assert _approve(session, clock, w.admin, request).status is RequestStatus.APPROVED


def test_self_approval_is_403_and_changes_nothing(session, clock):
    w = make_world(session, clock)
    anyone = {"approvers": [{"type": "user", "values": [w.alice.upn, w.boss.upn, w.carol.upn]}]}
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=_policy("ANY_OF", anyone),
        request_for={"scopes": ["self", "others"]},
    )
    request = make_request(session, clock, w.alice, [w.finance])
    error = _refused(session, clock, w.alice, request, Forbidden)
    assert "you cannot approve" in error.detail
    # The grantee cannot approve a request made for them either.
    for_carol = make_request(session, clock, w.boss, [w.finance], grantee=w.carol.upn)
    _refused(session, clock, w.carol, for_carol, Forbidden)
    _refused(session, clock, w.boss, for_carol, Forbidden)


def test_self_approval_allowed_when_the_flow_says_so(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=_policy(
            "ANY_OF", {"approvers": [{"type": "user", "values": [w.alice.upn]}]}
        ),
        settings={"requester_cannot_approve_self": False},
    )
    request = make_request(session, clock, w.alice, [w.finance])
    assert _approve(session, clock, w.alice, request).status is RequestStatus.APPROVED


def test_non_approver_and_decided_request(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    request = make_request(session, clock, w.alice, [w.finance])
    error = _refused(session, clock, w.carol, request, NotFound)
    assert error.detail.startswith("no access request")  # hidden: not an approver
    _refused(session, clock, w.admin, request, Forbidden)
    _approve(session, clock, w.boss, request)
    _refused(session, clock, w.boss, request, Conflict, op=reject_request)


def test_rejection_with_required_reason(session, clock):
    w = make_world(session, clock)
    make_flow(
        session,
        clock,
        w.integration,
        approver_policy=MANAGER_POLICY,
        settings={"approver_reason_required": True},
    )
    request = make_request(session, clock, w.alice, [w.finance])
    _refused(session, clock, w.boss, request, ValidationFailed, op=reject_request)
    before = audit_count(session)
    result = reject_request(
        session=session,
        clock=clock,
        actor=actor_for(w.boss),
        request_id=request.id,
        reason="not now",
    )
    session.commit()
    assert result.status is RequestStatus.REJECTED
    assert audit_count(session) == before + 1
    assert _grants(session, request) == []
    _refused(session, clock, w.boss, request, Conflict, reason="again")
