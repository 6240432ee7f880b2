"""Two approvers racing on one request: exactly one wins, the other gets a 409.

This needs two real connections committing concurrently, so it runs on its own PostgreSQL
engine outside the rolled-back fixture, and cleans up the rows it made. SQLite is skipped:
it serialises writers (``BEGIN IMMEDIATE``), so there is no race to lose there.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import delete

from factories import (
    actor_for,
    make_flow,
    make_identity,
    make_integration,
    make_request,
    make_resource,
)
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.errors import Conflict
from jitgate.core.migrate import upgrade
from jitgate.server.connectors.models import Connector
from jitgate.server.flows.models import AccessFlow
from jitgate.server.grants.models import Grant
from jitgate.server.identities.models import ApiToken, Identity
from jitgate.server.integrations.models import Integration, Resource
from jitgate.server.jobs.models import Job
from jitgate.server.requests.models import AccessRequest, AccessRequestUnit, Approval
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus


def _arrange(sessions, clock, tag):
    with sessions() as s:
        boss = make_identity(s, clock, f"boss-{tag}@contoso.example")
        deputy = make_identity(s, clock, f"deputy-{tag}@contoso.example")
        alice = make_identity(s, clock, f"alice-{tag}@contoso.example", manager=boss.id)
        integration = make_integration(s, clock, f"Race {tag}")
        group = make_resource(s, clock, integration, name=f"Race {tag}")
        approvers = {"approvers": [{"type": "user", "values": [boss.upn, deputy.upn]}]}
        flow = make_flow(
            s, clock, integration, f"Race {tag}", approver_policy={"approver_groups": [approvers]}
        )
        request = make_request(s, clock, alice, [group], flow_id=flow.id)
        return request.id, [boss, deputy], integration, [boss.id, deputy.id, alice.id], flow.id


def _cleanup(sessions, request_id, people, integration, flow_id):
    with sessions() as s:
        s.execute(delete(Grant).where(Grant.request_id == request_id))
        s.execute(delete(Approval).where(Approval.request_id == request_id))
        s.execute(delete(AccessRequestUnit).where(AccessRequestUnit.request_id == request_id))
        s.execute(delete(AccessRequest).where(AccessRequest.id == request_id))
        s.execute(delete(AccessFlow).where(AccessFlow.id == flow_id))
        s.execute(delete(Resource).where(Resource.integration_id == integration.id))
        s.execute(delete(Job).where(Job.integration_id == integration.id))
        s.execute(delete(Integration).where(Integration.id == integration.id))
        s.execute(delete(Connector).where(Connector.id == integration.connector_id))
        s.execute(delete(ApiToken).where(ApiToken.identity_id.in_(people)))
        s.execute(delete(Identity).where(Identity.id.in_(people)))
        s.commit()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_approvals_race_one_wins(backend, request):
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): two approvals cannot race there")
    engine = make_engine(request.getfixturevalue("postgres_url"))
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    tag = uuid.uuid4().hex[:8]
    request_id, approvers, integration, people, flow_id = _arrange(sessions, clock, tag)
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []

    def approve(person):
        with sessions() as s:
            barrier.wait()
            try:
                approve_request(
                    session=s, clock=clock, actor=actor_for(person), request_id=request_id
                )
                s.commit()
                outcomes.append("won")
            except Conflict:
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=approve, args=(p,)) for p in approvers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert sorted(outcomes) == ["conflict", "won"]
        with sessions() as s:
            request = s.get(AccessRequest, request_id)
            assert request is not None
            assert request.status is RequestStatus.APPROVED
    finally:
        _cleanup(sessions, request_id, people, integration, flow_id)
        engine.dispose()
