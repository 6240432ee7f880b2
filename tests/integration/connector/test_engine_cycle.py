"""The whole cycle in process: request, approve, tick, agent + emulator, expiry, revoked."""

from __future__ import annotations

import asyncio
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
from in_process import InProcess, in_process
from jitgate.core.clock import ManualClock
from jitgate.emulator.state import build_state
from jitgate.server.audit.models import AuditEvent
from jitgate.server.grants.models import Grant, Membership
from jitgate.server.grants.states import GrantStatus
from jitgate.server.requests.lifecycle import extend_request
from jitgate.server.requests.models import AccessRequest
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from polling import wait_for_async
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stack(committed_url: str, tmp_path: Path) -> Iterator[InProcess]:
    with in_process(committed_url, tmp_path) as made:
        yield made


async def _until(check: Callable[[], object], what: str) -> None:
    await wait_for_async(check, timeout_s=15, in_thread=True, message=what)


def _one(sessions: sessionmaker[Session], column: Any) -> Any:
    """The value of ``column`` in its table's one row."""
    with sessions() as session:
        return session.scalars(select(column)).one()


async def test_request_to_expiry_through_agent_and_emulator(stack: InProcess) -> None:
    sessions, clock = stack.sessions, stack.clock
    user, group = stack.user("grady"), stack.group("Finance Readers")
    members = stack.tenant.members[group["id"]]
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

    def status() -> RequestStatus:
        with sessions() as session:
            row = session.get(AccessRequest, request.id)
            assert row is not None
            return row.status

    async with stack.agent(token):
        await stack.tick()
        await _until(lambda: status() is RequestStatus.ACTIVE, "the grant to be active")
        assert user["id"] in members
        clock.advance(timedelta(hours=1))
        await stack.tick()
        await _until(lambda: status() is RequestStatus.EXPIRED, "the request to expire")
        assert user["id"] not in members


async def test_pim_extension_moves_the_expiry_in_the_emulator(
    committed_url: str, tmp_path: Path
) -> None:
    """PIM mode: an extended request's access outlives the old end in Entra too."""
    clock = ManualClock()
    emulator = build_state(clock=clock)  # one clock for the server, the agent and Entra
    with in_process(committed_url, tmp_path, clock=clock, emulator=emulator) as stack:
        await _pim_extension(stack)


async def _pim_extension(stack: InProcess) -> None:
    sessions, clock, tenant = stack.sessions, stack.clock, stack.tenant
    user, group = stack.user("grady"), stack.group("Finance Readers")
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
    async with stack.agent(token, agent_clock=clock):
        await stack.tick()
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
        await stack.tick()
        await _until(lambda: _one(sessions, Membership.applied_ends_at) == new_end, "the extension")
    clock.advance(timedelta(minutes=55))  # past the old end
    tenant.expire_due()
    assert user["id"] in members, "Entra kept the access past the old end"
    clock.advance(timedelta(hours=1))  # past the new end
    tenant.expire_due()
    assert user["id"] not in members


async def test_last_owner_revoke_is_blocked_end_to_end(stack: InProcess) -> None:
    """A JIT owner who became a group's last owner: Graph refuses the removal at expiry; the
    grant stays revoking with the reason, audited once, and is removed once another owner is
    back."""
    sessions, clock, tenant = stack.sessions, stack.clock, stack.tenant
    user, group = stack.user("grady"), stack.group("Finance Readers")
    owners = tenant.owners[group["id"]]
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
        make_flow(
            session, clock, integration, approver_policy=MANAGER_POLICY, permissions=["owner"]
        )
        request = make_request(session, clock, grady, [resource], permissions=["owner"])
        approve_request(session=session, clock=clock, actor=actor_for(boss), request_id=request.id)
        session.commit()

    def grant() -> Grant:
        with sessions() as session:
            return session.scalars(select(Grant).where(Grant.request_id == request.id)).one()

    def overdue() -> list[AuditEvent]:
        with sessions() as session:
            query = select(AuditEvent).where(AuditEvent.action == "revocation.overdue")
            return list(session.scalars(query))

    async with stack.agent(token):
        await stack.tick()
        await _until(lambda: grant().status is GrantStatus.ACTIVE, "the owner grant")
        standing = [o for o in owners if o != user["id"]]
        for other in standing:  # the group's other owners leave: grady is the last
            tenant.remove_member(group["id"], other, owners=True)
        clock.advance(timedelta(hours=1))
        await stack.tick()
        await _until(overdue, "the refused removal to be audited")
        held = grant()
        assert held.status is GrantStatus.REVOKING
        assert "GroupLastOwner" in (held.last_error or "")
        assert list(owners) == [user["id"]], "Graph kept its last owner; jitgate did not pretend"
        await stack.tick()
        assert len(overdue()) == 1
        for other in standing:  # an admin adds the owners back
            tenant.add_member(group["id"], other, owners=True)
        clock.advance(timedelta(hours=1, minutes=1))
        await stack.tick()
        await _until(lambda: grant().status is GrantStatus.ENDED, "the removal after the block")
        assert user["id"] not in owners
