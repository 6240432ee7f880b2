"""Two approvers racing on one request: exactly one wins, the other gets a 409.

This needs two real connections committing concurrently, so it runs on a database of its own
(a SQLite file, or a throw-away PostgreSQL database) outside the rolled-back fixture. On
PostgreSQL the two transactions really overlap and the row lock decides; SQLite serialises
writers (``BEGIN IMMEDIATE``), so there the loser queues and then finds the request approved.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select

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
from jitgate.server.audit.models import AuditEvent
from jitgate.server.requests.models import AccessRequest, Approval
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
        return request.id, [boss, deputy]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_approvals_race_one_wins(backend, request, tmp_path):
    url = (
        request.getfixturevalue("fresh_postgres_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path}/race.db"
    )
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    tag = uuid.uuid4().hex[:8]
    request_id, approvers = _arrange(sessions, clock, tag)
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
            approvals = s.scalars(select(Approval).where(Approval.request_id == request_id)).all()
            assert len(approvals) == 1
            events = s.scalars(
                select(AuditEvent).where(
                    AuditEvent.target_id == request_id, AuditEvent.action == "request.approve"
                )
            ).all()
            assert len(events) == 1
    finally:
        engine.dispose()
