"""B2B guests against the emulator in-process: invite (or reuse), delete (404 is success)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jitgate.connector.executor import GraphExecutor
from jitgate.core.clock import ManualClock
from jitgate.graph.errors import GraphForbidden
from jitgate.graph.operations import guests, selfcheck
from jitgate.graph.operations.models import Outcome as GraphOutcome
from jitgate.protocol.v1 import (
    DeleteUserData,
    DeleteUserPayload,
    InviteGuestData,
    InviteGuestPayload,
    JobSpec,
    Outcome,
    SelfCheckPayload,
    WriteOutcome,
)

pytestmark = pytest.mark.anyio
REDIRECT = "https://myapplications.microsoft.com"


def spec(payload: InviteGuestPayload | DeleteUserPayload) -> JobSpec:
    return JobSpec(
        id="job-1",
        kind=payload.kind,
        integration_id="integration-1",
        attempt=1,
        max_attempts=8,
        lease_token="lease-1",
        lease_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        payload=payload,
    )


async def no_pages(*_: object) -> None:
    raise AssertionError("no pages expected")


async def test_executor_invites_a_guest_then_reuses_it(state, graph):
    executor = GraphExecutor(graph, ManualClock())
    payload = InviteGuestPayload(
        email="pat@fabrikam.example",
        display_name="Pat External",
        redirect_url=REDIRECT,
        identity_id="identity-1",
    )
    result = await executor.run_one(spec(payload), no_pages)
    assert result.outcome is Outcome.SUCCEEDED, result.error
    data = result.data
    assert isinstance(data, InviteGuestData)
    assert data.created is True
    assert data.request_ids
    user = state.tenant.users[data.user_id]
    assert (user["userType"], user["mail"]) == ("Guest", "pat@fabrikam.example")
    assert user["creationType"] == "Invitation"
    again = await executor.run_one(spec(payload), no_pages)
    assert isinstance(again.data, InviteGuestData)
    assert (again.data.user_id, again.data.created) == (data.user_id, False)


async def test_existing_member_is_reused_not_invited(state, graph):
    member = next(u for u in state.tenant.users.values() if u.get("userType") == "Member")
    count = len(state.tenant.users)
    guest = await guests.invite_guest(graph, email=member["mail"], redirect_url=REDIRECT)
    assert (guest.user_id, guest.created) == (member["id"], False)
    assert len(state.tenant.users) == count


async def test_executor_deletes_and_a_missing_user_is_success(state, graph):
    executor = GraphExecutor(graph, ManualClock())
    guest = await guests.invite_guest(graph, email="sam@fabrikam.example", redirect_url=REDIRECT)
    assert guest.created
    payload = DeleteUserPayload(user_id=guest.user_id, identity_id="identity-2")
    result = await executor.run_one(spec(payload), no_pages)
    assert result.outcome is Outcome.SUCCEEDED, result.error
    assert isinstance(result.data, DeleteUserData)
    assert result.data.outcome is WriteOutcome.APPLIED
    assert guest.user_id not in state.tenant.users
    gone = await executor.run_one(spec(payload), no_pages)
    assert gone.outcome is Outcome.SUCCEEDED
    assert isinstance(gone.data, DeleteUserData)
    assert gone.data.outcome is WriteOutcome.ALREADY_ABSENT
    assert (await guests.delete_user(graph, guest.user_id)).outcome is GraphOutcome.ALREADY_ABSENT


async def test_invite_and_delete_need_their_permissions(connect, readonly_app, state):
    member = next(u for u in state.tenant.users.values() if u.get("userType") == "Member")
    client_id, secret = readonly_app
    async with connect(client_id=client_id, client_secret=secret) as weak:
        with pytest.raises(GraphForbidden):
            await guests.invite_guest(weak, email="kim@fabrikam.example", redirect_url=REDIRECT)
        with pytest.raises(GraphForbidden):
            await guests.delete_user(weak, member["id"])
        executor = GraphExecutor(weak, ManualClock())
        result = await executor.run_one(spec(DeleteUserPayload(user_id=member["id"])), no_pages)
        assert result.outcome is Outcome.FAILED
        assert result.error is not None
        assert result.error.code == "Authorization_RequestDenied"
    assert member["id"] in state.tenant.users


async def test_self_check_asks_for_guest_permissions_only_when_used(connect, readonly_app, graph):
    client_id, secret = readonly_app
    async with connect(client_id=client_id, client_secret=secret) as weak:
        plain = await selfcheck.self_check(weak, resource_types=("entra-group",))
        guest = await selfcheck.self_check(
            weak, resource_types=("entra-group",), invite_guests=True, delete_users=True
        )
    assert not any("User.Invite.All" in m or "DeleteRestore" in m for m in plain.missing)
    text = "\n".join(guest.missing)
    assert "User.Invite.All is required" in text
    assert "User.DeleteRestore.All" in text
    full = await GraphExecutor(graph, ManualClock()).self_check(
        SelfCheckPayload(invite_guests=True, delete_users=True)
    )
    assert full.ok, full.missing
