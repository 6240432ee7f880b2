"""An external grantee end to end in process: invited by the agent, granted, expired, deleted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

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
from in_process import QUIET, in_process
from jitgate.server.guests.models import InvitedGuest
from jitgate.server.identities.models import Identity
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.reconciler.tick import run_tick
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from polling import wait_for_async
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import ManualClock

MAIL = "pat@fabrikam.example"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _until(check: Callable[[], object], what: str) -> None:
    await wait_for_async(check, timeout_s=15, in_thread=True, message=what)


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
        await asyncio.to_thread(run_tick, sessions=self.sessions, clock=self.clock, config=QUIET)


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


async def test_external_grantee_is_invited_granted_and_cleaned_up(
    committed_url: str, tmp_path: Path
) -> None:
    with in_process(committed_url, tmp_path) as stack:
        group = stack.group("Finance Readers")
        token, request_id, identity_id = _arrange(stack.sessions, stack.clock, group["id"])
        cycle = Cycle(
            stack.sessions, stack.clock, stack.tenant, group["id"], request_id, identity_id
        )
        async with stack.agent(token):
            await _lifecycle(cycle)


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
