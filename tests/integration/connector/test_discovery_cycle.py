"""Discovery in process: agent + demo emulator -> managers and groups of interest -> approvals."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from factories import actor_for, make_connector, make_flow, make_integration, make_request
from jitgate.connector.agent import run_agent
from jitgate.connector.config import AgentConfig
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.errors import NotFound
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.emulator.app import create_app as create_emulator
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.server.app import create_app
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Resource
from jitgate.server.integrations.sync import enqueue_discovery
from jitgate.server.integrations.sync_models import IntegrationSync
from jitgate.server.requests.integration_uses import INTEGRATION_USES
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from pathlib import Path

EMULATOR = "https://emulator.test"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _until(check, what: str) -> None:
    for _ in range(400):
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"timed out waiting for {what}")


def _people(session) -> dict[str, Identity]:
    return {i.upn.split("@")[0]: i for i in session.scalars(select(Identity))}


def _check_and_approve(sessions, clock, engineering: str) -> None:
    """Managers and Engineering's members are discovered; the manager approves, a peer cannot."""
    with sessions() as session:
        people = _people(session)
        assert people["grady"].manager_id == people["alex"].id
        assert people["lee"].manager_id == people["johanna"].id
        assert people["megan"].manager_id is None
        entry = {"id": engineering, "name": "Engineering"}
        members = {k for k, p in people.items() if entry in p.groups}
        assert members == {"alex", "diego", "grady", "nestor"}
        assert people["lee"].groups == []
        db_admins = session.scalars(
            select(Resource).where(Resource.name == "Database Admins")
        ).one()
        request = make_request(session, clock, people["grady"], [db_admins])
        with pytest.raises(NotFound):  # Diego is not Grady's manager: the request is hidden
            approve_request(
                session=session,
                clock=clock,
                actor=actor_for(people["diego"]),
                request_id=request.id,
            )
        session.rollback()
        approved = approve_request(
            session=session, clock=clock, actor=actor_for(people["alex"]), request_id=request.id
        )
        session.commit()
        assert approved.status is not RequestStatus.PENDING


async def test_discovered_managers_and_groups_drive_flows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/discovery.db")
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    emulator = build_state()
    tenant = emulator.tenant
    engineering = next(g["id"] for g in tenant.groups.values() if g["displayName"] == "Engineering")
    with sessions() as session:
        connector, token = make_connector(session, clock)
        integration = make_integration(
            session, clock, connector=connector, resource_types=["entra-group"]
        )
        requestors = {"conditions": [{"type": "group", "values": ["Engineering"]}]}
        make_flow(
            session, clock, integration, requestors=requestors, approver_policy=MANAGER_POLICY
        )
        session.commit()
    app = create_app(Settings(data_dir=tmp_path, log_json=False), clock=clock, sessions=sessions)
    app.state.jobs.poll_interval_s = 0.05
    config = AgentConfig(
        url="http://server",
        token=token,
        tenant_id=tenant.tenant_id,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        authority_host=EMULATOR,
        graph_url=EMULATOR,
        disable_instance_discovery=True,
        claim_wait_s=1.0,
    )
    graph = GraphClient.from_config(
        config.graph_config(), transport=httpx.ASGITransport(app=create_emulator(emulator))
    )
    stop = asyncio.Event()
    agent = asyncio.create_task(
        run_agent(
            config, stop_event=stop, server_transport=httpx.ASGITransport(app=app), graph=graph
        )
    )

    def runs() -> int:
        with sessions() as session:
            state = session.get(IntegrationSync, integration.id)
            return (
                0
                if state is None or state.last_run_at is None
                else 1 + len([p for p in _people(session).values() if p.groups])
            )

    try:
        # The first discovery was queued with the integration (full: users, managers, groups).
        await _until(lambda: runs() > 0, "the first discovery")
        with sessions() as session:
            enqueue_discovery(
                uses=INTEGRATION_USES, session=session, clock=clock, integration=integration
            )
            session.commit()
        # The next (delta) round reads the members of Engineering, named by the flow.
        await _until(lambda: runs() > 1, "the memberships of interest")
        _check_and_approve(sessions, clock, engineering)
    finally:
        stop.set()
        await asyncio.wait_for(agent, timeout=30)
        await graph.aclose()
        engine.dispose()
