"""The demo seed is idempotent, and the demo clock never runs backwards across restarts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from jitgate.core.clock import ManualClock
from jitgate.demo import seed
from jitgate.demo.allinone import demo_clock
from jitgate.server.audit.models import AuditEvent
from jitgate.server.connectors.service import authenticate_connector
from jitgate.server.flows.models import AccessFlow
from jitgate.server.integrations.models import Integration
from jitgate.server.jobs.models import Job


def _seed_twice(session, clock):
    tokens, ids = [], []
    for _ in range(2):
        connector, token = seed.ensure_connector(session=session, clock=clock)
        integration = seed.ensure_integration(session=session, clock=clock, connector=connector)
        seed.ensure_flows(session=session, clock=clock, integration=integration)
        session.flush()
        tokens.append(token)
        ids.append((connector.id, integration.id))
    return tokens, ids


def test_seeding_twice_adds_nothing_and_rotates_the_connector_token(session, clock):
    tokens, ids = _seed_twice(session, clock)
    assert ids[0] == ids[1]
    assert tokens[0] != tokens[1]
    assert authenticate_connector(session=session, token=tokens[1]).id == ids[0][0]
    assert session.scalar(select(func.count()).select_from(Integration)) == 1
    assert session.scalar(select(func.count()).select_from(AccessFlow)) == 3
    assert session.scalar(select(func.count()).select_from(Job)) == 1  # one first discovery


def test_the_demo_clock_resumes_from_the_newest_audit_event(sessions):
    ahead = ManualClock()
    with sessions() as session:
        seed.ensure_connector(session=session, clock=ahead)
        ahead.advance(timedelta(days=36500))  # a demo clock far ahead of the wall clock
        seed.ensure_connector(session=session, clock=ahead)
        session.commit()
        newest = session.scalar(select(func.max(AuditEvent.at)))
    assert demo_clock(sessions).now() >= newest
