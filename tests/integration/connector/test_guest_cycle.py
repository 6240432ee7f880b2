"""An external grantee end to end in process: invited by the agent, granted, expired, deleted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
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
from jitgate.server.guests.models import InvitedGuest
from jitgate.server.identities.models import Identity
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.reconciler.tick import ReconcilerConfig, run_tick
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

EMULATOR = "https://emulator.test"
MAIL = "pat@fabrikam.example"
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


@dataclass
class Cycle:
    """The server's database, the emulator tenant and the rows the test follows."""

    sessions: sessionmaker[Session]
    clock: ManualClock
    tenant: Any
    group_id: str
    request_id: str
    identity_id: str

    def status(self) -> RequestStatus:
        with self.sessions() as session:
            row = session.get(AccessRequest, self.request_id)
            assert row is not None
            return row.status

    def object_id(self) -> str | None:
        with self.sessions() as session:
            row = session.get(Identity, self.identity_id)
            assert row is not None
            return row.object_id

    def deleted(self) -> bool:
        with self.sessions() as session:
            return session.scalars(select(InvitedGuest)).one().deleted_at is not None

    async def tick(self) -> None:
        quiet = ReconcilerConfig(periodic=False)
        await asyncio.to_thread(run_tick, sessions=self.sessions, clock=self.clock, config=quiet)


def _arrange(sessions: sessionmaker[Session], clock: ManualClock, group_id: str) -> tuple[str, ...]:
    """An external grantee (mail only), an approved request, an integration that invites."""
    with sessions() as session:
        boss = make_identity(session, clock, "boss@contoso.example")
        pat = make_identity(session, clock, MAIL, manager=boss.id)
        connector, token = make_connector(session, clock)
        integration = make_integration(
            session, clock, connector=connector, invite_guests=True, user_cleanup_days=1
        )
        resource = make_resource(
            session, clock, integration, name="Finance Readers", external_id=group_id
        )
        make_flow(session, clock, integration, approver_policy=MANAGER_POLICY)
        request = make_request(session, clock, pat, [resource])
        approve_request(session=session, clock=clock, actor=actor_for(boss), request_id=request.id)
        # The first discovery is not what this test is about: settle it.
        for job in session.scalars(select(Job).where(Job.kind == JobKind.DISCOVER)):
            job.status = JobStatus.SUCCEEDED
        session.commit()
        return token, request.id, pat.id


async def test_external_grantee_is_invited_granted_and_cleaned_up(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/guests.db")
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    emulator = build_state()
    tenant = emulator.tenant
    group = next(g for g in tenant.groups.values() if g["displayName"] == "Finance Readers")
    token, request_id, identity_id = _arrange(sessions, clock, group["id"])
    cycle = Cycle(sessions, clock, tenant, group["id"], request_id, identity_id)
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
    try:
        await _lifecycle(cycle)
    finally:
        stop.set()
        await asyncio.wait_for(agent, timeout=30)
        await graph.aclose()
        engine.dispose()


async def _lifecycle(cycle: Cycle) -> None:
    await cycle.tick()
    await _until(lambda: cycle.object_id() is not None, "the guest to be invited")
    guest_id = await asyncio.to_thread(cycle.object_id)  # off the loop the server commits on
    assert guest_id is not None
    guest = cycle.tenant.users[guest_id]
    assert (guest["userType"], guest["mail"]) == ("Guest", MAIL)
    await cycle.tick()
    await _until(lambda: cycle.status() is RequestStatus.ACTIVE, "the grant to be active")
    assert guest_id in cycle.tenant.members[cycle.group_id]
    cycle.clock.advance(timedelta(hours=1))
    await cycle.tick()
    await _until(lambda: cycle.status() is RequestStatus.EXPIRED, "the request to expire")
    assert guest_id in cycle.tenant.users, "kept until user_cleanup_days have passed"
    cycle.clock.advance(timedelta(days=1))
    await cycle.tick()
    await _until(cycle.deleted, "the guest to be deleted")
    assert guest_id not in cycle.tenant.users
    assert await asyncio.to_thread(cycle.object_id) is None
