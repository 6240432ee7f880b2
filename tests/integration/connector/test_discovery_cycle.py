"""Discovery in process: agent + demo emulator -> managers and groups of interest -> approvals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from factories import actor_for, make_connector, make_flow, make_integration, make_request
from in_process import in_process
from jitgate.core.errors import NotFound
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Resource
from jitgate.server.integrations.sync import enqueue_discovery
from jitgate.server.integrations.sync_models import IntegrationSync
from jitgate.server.requests.integration_uses import INTEGRATION_USES
from jitgate.server.requests.operations import approve_request
from jitgate.server.requests.states import RequestStatus
from polling import wait_for_async
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from in_process import InProcess

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _until(check: Callable[[], object], what: str) -> None:
    await wait_for_async(check, timeout_s=15, in_thread=True, message=what)


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


async def test_discovered_managers_and_groups_drive_flows(
    committed_url: str, tmp_path: Path
) -> None:
    with in_process(committed_url, tmp_path) as stack:
        await _discover(stack)


async def _discover(stack: InProcess) -> None:
    sessions, clock = stack.sessions, stack.clock
    engineering = stack.group("Engineering")["id"]
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

    def runs() -> int:
        with sessions() as session:
            state = session.get(IntegrationSync, integration.id)
            return (
                0
                if state is None or state.last_run_at is None
                else 1 + len([p for p in _people(session).values() if p.groups])
            )

    async with stack.agent(token):
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
