from __future__ import annotations

from factories import actor_for, make_flow, make_request
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY, make_world


def test_manager_approves(session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration, approver_policy=MANAGER_POLICY)
    request = make_request(session, clock, w.alice, [w.finance])
    assert request.status is RequestStatus.PENDING
    approved = approve_request(
        session=session, clock=clock, actor=actor_for(w.boss), request_id=request.id
    )
    assert approved.status is RequestStatus.APPROVED
