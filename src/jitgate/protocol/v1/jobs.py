"""Connector protocol v1, jobs: the payloads per kind, claims, leased job specs and releases.

Payloads are a discriminated union on ``kind``; a claim long-polls up to ``MAX_WAIT_S``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from jitgate.protocol.v1.common import (
    INSTANCE_KEY,
    MAX_CLAIM,
    MAX_PAGE_ITEMS,
    MAX_WAIT_S,
    GrantMode,
    Message,
    Permission,
    ResourceType,
)


class Target(Message):
    """The principal and the Entra object one access change is about."""

    principal_id: str = Field(description="The principal's Entra object id.")
    principal_upn: str | None = Field(default=None, description="For logs and resolution.")
    resource_type: ResourceType
    resource_external_id: str = Field(
        description="The group id, or the role definition (template) id."
    )
    permission: Permission
    directory_scope_id: str = Field(
        default="/", description="Roles only: `/` or `/administrativeUnits/{id}`."
    )


class GrantPayload(Target):
    """Give access (idempotent: ``already_present`` is success), or move its PIM expiry.

    With ``extend`` (PIM mode only) the principal already holds the PIM assignment: its end
    moves to ``ends_at``; ``already_absent`` means there was no assignment left to extend.
    """

    kind: Literal["grant"] = "grant"
    grant_mode: GrantMode = GrantMode.DIRECT
    ends_at: AwareDatetime | None = Field(
        default=None, description="PIM mode: the expiry Entra enforces."
    )
    grant_ids: list[str] = Field(default_factory=list, description="The grants this serves.")
    justification: str = Field(default="jitgate", max_length=500)
    extend: bool = Field(
        default=False,
        # Left out of the message unless set: a grant job reads as before to older connectors.
        exclude_if=lambda value: not value,
        description="PIM mode: move the existing assignment's expiry to `ends_at` (an "
        "extension) instead of creating the assignment.",
    )

    @model_validator(mode="after")
    def _extend_is_pim(self) -> Self:
        if self.extend and (self.grant_mode is not GrantMode.PIM or self.ends_at is None):
            raise ValueError("extend needs grant_mode pim and ends_at")
        return self


class RevokePayload(Target):
    """Take access away (idempotent: ``already_absent`` is success)."""

    kind: Literal["revoke"] = "revoke"
    grant_mode: GrantMode = GrantMode.DIRECT
    grant_ids: list[str] = Field(default_factory=list)
    assignment_id: str | None = Field(
        default=None, description="Roles: the assignment id recorded at grant time, if known."
    )


class DiscoverPayload(Message):
    """Read the directory: users, groups (with owners and tags), role definitions, AUs."""

    kind: Literal["discover"] = "discover"
    mode: Literal["full", "delta"] = "full"
    resource_types: list[ResourceType] = Field(default_factory=lambda: list(ResourceType))
    users_delta_link: str | None = None
    groups_delta_link: str | None = None
    tag_attributes: list[str] = Field(default_factory=list)
    page_size: int = Field(default=1000, ge=1, le=MAX_PAGE_ITEMS)
    member_groups: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="Entra group ids or display names whose (transitive) user members to report "
        "as DiscoveredUser.group_ids; null: memberships are not read.",
    )


class ReadMembershipPayload(Message):
    """Read who holds a resource now (drift detection, standing membership)."""

    kind: Literal["read_membership"] = "read_membership"
    resource_type: ResourceType
    resource_external_id: str
    permission: Permission = Permission.MEMBER
    directory_scope_id: str = "/"
    delta_link: str | None = Field(
        default=None,
        description="Group members only: the delta link of the last round; the read returns the "
        "changes since. Null: a full round. Owners and roles are always read in full.",
    )


class SelfCheckPayload(Message):
    """Check the Graph permissions and Entra roles the connector holds."""

    kind: Literal["self_check"] = "self_check"
    resource_types: list[ResourceType] = Field(default_factory=lambda: list(ResourceType))
    grant_mode: GrantMode = GrantMode.DIRECT
    invite_guests: bool = Field(
        default=False, description="An integration invites guests: `User.Invite.All` is needed."
    )
    delete_users: bool = Field(
        default=False,
        description="An integration deletes the guests it invited (`user_cleanup_days`): "
        "`User.DeleteRestore.All` is needed.",
    )


class InviteGuestPayload(Message):
    """Invite an external grantee as a B2B guest (``POST /invitations``), or find their user.

    A user that already has the mail is reused (``created`` false in the result), never invited
    again.
    """

    kind: Literal["invite_guest"] = "invite_guest"
    email: str = Field(min_length=3, max_length=320, description="The grantee's mail address.")
    display_name: str | None = Field(default=None, max_length=256)
    redirect_url: str = Field(
        max_length=2048, description="Where the guest lands after redeeming the invitation."
    )
    send_invitation_message: bool = True
    identity_id: str = Field(description="The jitgate identity the guest is for.")
    grant_ids: list[str] = Field(default_factory=list, description="The grants waiting on it.")


class DeleteUserPayload(Message):
    """Delete a guest user jitgate invited (``DELETE /users/{id}``; gone already is success)."""

    kind: Literal["delete_user"] = "delete_user"
    user_id: str = Field(max_length=64, description="The guest's Entra object id.")
    identity_id: str | None = None


JobPayload = Annotated[
    GrantPayload
    | RevokePayload
    | DiscoverPayload
    | ReadMembershipPayload
    | SelfCheckPayload
    | InviteGuestPayload
    | DeleteUserPayload,
    Field(discriminator="kind"),
]
JobKindName = Literal[
    "grant", "revoke", "discover", "read_membership", "self_check", "invite_guest", "delete_user"
]


class ClaimRequest(Message):
    """Ask for up to ``max_jobs`` jobs, waiting up to ``wait_s`` for the first to appear."""

    instance_key: str = INSTANCE_KEY
    max_jobs: int = Field(default=10, ge=1, le=MAX_CLAIM)
    wait_s: float = Field(default=MAX_WAIT_S, ge=0, le=MAX_WAIT_S)


class JobSpec(Message):
    """One leased job: everything the agent needs to run it, and the lease to report under."""

    id: str
    kind: JobKindName
    integration_id: str | None
    attempt: int = Field(ge=1, description="1 on the first run.")
    max_attempts: int
    lease_token: str = Field(description="Quote it in the result; it names this lease only.")
    lease_expires_at: AwareDatetime
    payload: JobPayload
    enabled_resource_types: list[ResourceType] = Field(
        default_factory=list, description="The integration's enabled resource types."
    )


class ClaimResponse(Message):
    """The jobs leased to the caller, most urgent first (revocations before grants)."""

    jobs: list[JobSpec] = Field(default_factory=list)


class ReleaseRequest(Message):
    """Give a lease back unfinished (graceful stop): the job runs again, not as a new attempt."""

    instance_key: str = INSTANCE_KEY
    lease_token: str
