"""The whole cycle in process: request, approve, tick, agent + emulator, expiry, revoked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select

from factories import (
    actor_for,
    make_connector,
    make_flow,
    make_identity,
    make_integration,
    make_request,
    make_resource,
)
from jitgate.connector.agent import run_agent
from jitgate.connector.config import AgentConfig
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.emulator.app import create_app as create_emulator
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.server.app import create_app
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.reconciler.tick import ReconcilerConfig, run_tick
from jitgate.server.requests.lifecycle import extend_request
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.connector.agent import Agent
    from jitgate.emulator.state import EmulatorState

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


def _start_agent(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    clock: ManualClock,
    emulator: EmulatorState,
    token: str,
    *,
    agent_clock: ManualClock | None = None,
) -> tuple[asyncio.Event, asyncio.Task[Agent], GraphClient]:
    """The server app and a connector agent on it, writing to the emulator (all in process)."""
    app = create_app(Settings(data_dir=tmp_path, log_json=False), clock=clock, sessions=sessions)
    app.state.jobs.poll_interval_s = 0.05
    config = AgentConfig(
        url="http://server",
        token=token,
        tenant_id=emulator.tenant.tenant_id,
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
            config,
            stop_event=stop,
            server_transport=httpx.ASGITransport(app=app),
            graph=graph,
            clock=agent_clock,
        )
    )
    return stop, agent, graph


def _one(sessions: sessionmaker[Session], column: Any) -> Any:
    """The value of ``column`` in its table's one row."""
    with sessions() as session:
        return session.scalars(select(column)).one()


async def test_request_to_expiry_through_agent_and_emulator(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/cycle.db")
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    emulator = build_state()
    tenant = emulator.tenant
    user = next(u for u in tenant.users.values() if u["userPrincipalName"].startswith("grady"))
    group = next(g for g in tenant.groups.values() if g["displayName"] == "Finance Readers")
    members = tenant.members[group["id"]]
    assert user["id"] not in members
    with sessions() as session:
        boss = make_identity(session, clock, "boss@contoso.example")
        grady = make_identity(
            session, clock, user["userPrincipalName"], manager=boss.id, object_id=user["id"]
        )
        connector, token = make_connector(session, clock)
        integration = make_integration(session, clock, connector=connector)
        resource = make_resource(
            session, clock, integration, name="Finance Readers", external_id=group["id"]
        )
        make_flow(session, clock, integration, approver_policy=MANAGER_POLICY)
        request = make_request(session, clock, grady, [resource])
        approve_request(session=session, clock=clock, actor=actor_for(boss), request_id=request.id)
        session.commit()
    stop, agent, graph = _start_agent(tmp_path, sessions, clock, emulator, token)
    quiet = ReconcilerConfig(periodic=False)

    def status() -> RequestStatus:
        with sessions() as session:
            row = session.get(AccessRequest, request.id)
            assert row is not None
            return row.status

    try:
        await asyncio.to_thread(run_tick, sessions=sessions, clock=clock, config=quiet)
        await _until(lambda: status() is RequestStatus.ACTIVE, "the grant to be active")
        assert user["id"] in members
        clock.advance(timedelta(hours=1))
        await asyncio.to_thread(run_tick, sessions=sessions, clock=clock, config=quiet)
        await _until(lambda: status() is RequestStatus.EXPIRED, "the request to expire")
        assert user["id"] not in members
    finally:
        stop.set()
        await asyncio.wait_for(agent, timeout=30)
        await graph.aclose()
        engine.dispose()


async def test_pim_extension_moves_the_expiry_in_the_emulator(tmp_path: Path) -> None:
    """PIM mode: an extended request's access outlives the old end in Entra too."""
    engine = make_engine(f"sqlite:///{tmp_path}/pim.db")
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    emulator = build_state(clock=clock)  # one clock for the server, the agent and Entra
    tenant = emulator.tenant
    user = next(u for u in tenant.users.values() if u["userPrincipalName"].startswith("grady"))
    group = next(g for g in tenant.groups.values() if g["displayName"] == "Finance Readers")
    members = tenant.members[group["id"]]
    with sessions() as session:
        boss = make_identity(session, clock, "boss@contoso.example")
        grady = make_identity(
            session, clock, user["userPrincipalName"], manager=boss.id, object_id=user["id"]
        )
        connector, token = make_connector(session, clock)
        integration = make_integration(session, clock, connector=connector, grant_mode="pim")
        resource = make_resource(
            session, clock, integration, name="Finance Readers", external_id=group["id"]
        )
        make_flow(
            session,
            clock,
            integration,
            approver_policy=MANAGER_POLICY,
            settings={"max_extensions": 1, "extension_duration_min": 60},
        )
        request = make_request(session, clock, grady, [resource], duration_min=60)
        approve_request(session=session, clock=clock, actor=actor_for(boss), request_id=request.id)
        session.commit()
    stop, agent, graph = _start_agent(tmp_path, sessions, clock, emulator, token, agent_clock=clock)
    quiet = ReconcilerConfig(periodic=False)

    try:
        await asyncio.to_thread(run_tick, sessions=sessions, clock=clock, config=quiet)
        await _until(lambda: _one(sessions, Membership.applied), "the PIM assignment")
        assert user["id"] in members
        old_end = await asyncio.to_thread(_one, sessions, Grant.ends_at)
        clock.advance(timedelta(minutes=10))

        def extend() -> None:  # off the event loop: the in-process server needs it to commit
            with sessions() as session, session.begin():
                extend_request(
                    session=session, clock=clock, actor=actor_for(grady), request_id=request.id
                )

        await asyncio.to_thread(extend)
        new_end = await asyncio.to_thread(_one, sessions, Grant.ends_at)
        assert old_end is not None
        assert new_end == old_end + timedelta(hours=1)
        await asyncio.to_thread(run_tick, sessions=sessions, clock=clock, config=quiet)
        await _until(lambda: _one(sessions, Membership.applied_ends_at) == new_end, "the extension")
    finally:
        stop.set()
        await asyncio.wait_for(agent, timeout=30)
        await graph.aclose()
        engine.dispose()
    clock.advance(timedelta(minutes=55))  # past the old end
    tenant.expire_due()
    assert user["id"] in members, "Entra kept the access past the old end"
    clock.advance(timedelta(hours=1))  # past the new end
    tenant.expire_due()
    assert user["id"] not in members
