"""B2B guests: invite an external grantee (``POST /invitations``) and delete a guest user.

``invite_guest`` first looks the mail up (``userPrincipalName`` or ``mail``): a user that
already exists is returned with ``created=False`` and no invitation is sent, so jitgate never
records (and never deletes) a user it did not create. Graph answers a repeated invitation with
the existing guest (graph.md, emulator), so an invitation retried after a lost answer is
harmless too. ``delete_user`` treats 404 as success: the user is already gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jitgate.graph.errors import GraphNotFound
from jitgate.graph.limiter import Priority
from jitgate.graph.operations.models import Outcome
from jitgate.graph.operations.principals import resolve_principal

if TYPE_CHECKING:
    from jitgate.graph.client import GraphClient


@dataclass(frozen=True, slots=True)
class Guest:
    """The user an invitation is about."""

    user_id: str
    created: bool
    user_principal_name: str | None
    request_ids: tuple[str, ...]


async def invite_guest(
    client: GraphClient,
    *,
    email: str,
    redirect_url: str,
    display_name: str | None = None,
    send_message: bool = True,
) -> Guest:
    """Return the existing user with ``email``, or invite one as a B2B guest."""
    try:
        found = await resolve_principal(client, email)
    except GraphNotFound as err:
        ids: tuple[str, ...] = (err.request_id,) if err.request_id else ()
    else:
        return Guest(
            user_id=found.id,
            created=False,
            user_principal_name=found.user_principal_name,
            request_ids=found.request_ids,
        )
    body: dict[str, object] = {
        "invitedUserEmailAddress": email,
        "inviteRedirectUrl": redirect_url,
        "sendInvitationMessage": send_message,
    }
    if display_name:
        body["invitedUserDisplayName"] = display_name
    response = await client.request("POST", "/invitations", json_body=body, priority=Priority.GRANT)
    data = response.body or {}
    user = data.get("invitedUser") or {}
    if not user.get("id"):
        raise ValueError("the invitation returned no invited user id")
    if response.request_id:
        ids = (*ids, response.request_id)
    return Guest(user_id=str(user["id"]), created=True, user_principal_name=None, request_ids=ids)


@dataclass(frozen=True, slots=True)
class Deletion:
    """What a user deletion found."""

    outcome: Outcome
    request_ids: tuple[str, ...]


async def delete_user(client: GraphClient, user_id: str) -> Deletion:
    """Delete the user (to the recycle bin); ``already_absent`` when Graph has no such user."""
    try:
        response = await client.request("DELETE", f"/users/{user_id}", priority=Priority.REVOKE)
    except GraphNotFound as err:
        return Deletion(Outcome.ALREADY_ABSENT, (err.request_id,) if err.request_id else ())
    ids = (response.request_id,) if response.request_id else ()
    return Deletion(Outcome.APPLIED, ids)
