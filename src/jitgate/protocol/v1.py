"""Connector protocol v1: registration, job claims, job specs, results, discovery pages, heartbeats.

The server speaks it under ``/api/connector/v1``; the agent (``jitgate.connector``) is its client.

Flow of one job:

1. the agent ``POST /instances`` (``RegisterInstance``) once at start, then long-polls
   ``POST /jobs:claim`` (``ClaimRequest``, ``wait_s`` ≤ 25) and receives ``JobSpec``s, each with
   a lease (``lease_token``, ``lease_expires_at``);
2. while it works it sends ``Heartbeat``s naming its leases (each heartbeat extends them) and,
   for discovery, posts ``ItemsPage``s (``POST /jobs/{id}/items``, idempotent by page number);
3. it reports one ``ReportResult`` (``POST /jobs/{id}/result``); reporting the same lease twice is
   idempotent; a report for a lease that was lost (reclaimed by another instance) is refused with
   409 and changes nothing;
4. on a graceful stop it releases the leases of unfinished jobs (``POST /jobs/{id}/release``).

Payloads and per-kind result data are discriminated unions on ``kind``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

VERSION = "v1"
PREFIX = "/api/connector/v1"
MAX_WAIT_S = 25.0
MAX_CLAIM = 50
MAX_PAGE_ITEMS = 2000
INSTANCE_KEY = Field(
    min_length=1,
    max_length=128,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$",
    description="This instance's own id (host name, pod name); unique within a connector.",
    examples=["connector-7d9f-abc12"],
)

# --- shared vocabulary -------------------------------------------------------------------------


class Message(BaseModel):
    """Base of every protocol message: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourceType(StrEnum):
    """What kind of Entra object a job touches."""

    GROUP = "entra-group"
    ROLE = "entra-role"


class Permission(StrEnum):
    """What a principal gets: group ``member`` / ``owner``, or an ``active`` role assignment."""

    MEMBER = "member"
    OWNER = "owner"
    ACTIVE = "active"


class GrantMode(StrEnum):
    """``direct``: the broker removes at expiry; ``pim``: Entra itself enforces the expiry."""

    DIRECT = "direct"
    PIM = "pim"


class Outcome(StrEnum):
    """What a job came to: ``retry`` asks the server to run it again later."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY = "retry"


class WriteOutcome(StrEnum):
    """What an idempotent write found (both "already" outcomes are success)."""

    APPLIED = "applied"
    ALREADY_PRESENT = "already_present"
    ALREADY_ABSENT = "already_absent"


# --- registration and heartbeat ----------------------------------------------------------------


class RegisterInstance(Message):
    """An instance announces itself (upserted by connector id and instance key)."""

    instance_key: str = INSTANCE_KEY
    version: str = Field(max_length=32, description="The agent's version.", examples=["0.1.0"])
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form facts: cloud, host, region, Graph base URL, credential kind.",
        examples=[{"cloud": "AzureCloud", "host": "vm-jit-01", "credential": "managed_identity"}],
    )


class Registered(Message):
    """The server's answer to a registration."""

    connector_id: str
    connector_name: str
    instance_key: str
    protocol: Literal["v1"] = "v1"
    max_wait_s: float = MAX_WAIT_S
    heartbeat_interval_s: float = Field(description="Send a heartbeat at least this often.")
    lease_s: float = Field(description="How long a lease lasts unless a heartbeat extends it.")


class LeaseRef(Message):
    """A lease an instance holds."""

    job_id: str
    lease_token: str


class Heartbeat(Message):
    """I am alive; these are the leases I am still working on (each is extended)."""

    instance_key: str = INSTANCE_KEY
    leases: list[LeaseRef] = Field(default_factory=list, max_length=MAX_CLAIM * 4)


class HeartbeatAck(Message):
    """Which leases were extended, and which are lost (stop working on those)."""

    extended: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)
    lease_expires_at: AwareDatetime | None = None


# --- job payloads ------------------------------------------------------------------------------


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
    """Give access (idempotent: ``already_present`` is success)."""

    kind: Literal["grant"] = "grant"
    grant_mode: GrantMode = GrantMode.DIRECT
    ends_at: AwareDatetime | None = Field(
        default=None, description="PIM mode: the expiry Entra enforces."
    )
    grant_ids: list[str] = Field(default_factory=list, description="The grants this serves.")
    justification: str = Field(default="jitgate", max_length=500)


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


class SelfCheckPayload(Message):
    """Check the Graph permissions and Entra roles the connector holds."""

    kind: Literal["self_check"] = "self_check"
    resource_types: list[ResourceType] = Field(default_factory=lambda: list(ResourceType))
    grant_mode: GrantMode = GrantMode.DIRECT


JobPayload = Annotated[
    GrantPayload | RevokePayload | DiscoverPayload | ReadMembershipPayload | SelfCheckPayload,
    Field(discriminator="kind"),
]
JobKindName = Literal["grant", "revoke", "discover", "read_membership", "self_check"]


# --- claims ------------------------------------------------------------------------------------


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


# --- results -----------------------------------------------------------------------------------


class JobError(Message):
    """Why a job failed or should be retried."""

    code: str = Field(max_length=128, examples=["Authorization_RequestDenied"])
    message: str = Field(max_length=4000)
    retryable: bool = False
    request_ids: list[str] = Field(default_factory=list)


class WriteData(Message):
    """What a grant or revoke write did, with Graph's request ids for the audit."""

    outcome: WriteOutcome
    request_ids: list[str] = Field(default_factory=list)
    object_id: str | None = Field(
        default=None, description="A role assignment id or a PIM request id."
    )
    detail: str = ""


class GrantData(WriteData):
    """Result data of a grant job."""

    kind: Literal["grant"] = "grant"


class RevokeData(WriteData):
    """Result data of a revoke job."""

    kind: Literal["revoke"] = "revoke"


class DiscoverData(Message):
    """Result data of discovery: the items went up as pages before the result."""

    kind: Literal["discover"] = "discover"
    pages: int = Field(ge=0, description="Pages posted under this lease (numbered 0..pages-1).")
    counts: dict[str, int] = Field(default_factory=dict, examples=[{"user": 100000}])
    users_delta_link: str | None = None
    groups_delta_link: str | None = None
    request_ids: list[str] = Field(default_factory=list, max_length=200)


class MemberRef(Message):
    """One holder of a resource."""

    id: str
    kind: str = "user"
    user_principal_name: str | None = None
    assignment_id: str | None = None


class ReadMembershipData(Message):
    """Result data of a membership read."""

    kind: Literal["read_membership"] = "read_membership"
    members: list[MemberRef] = Field(default_factory=list)
    request_ids: list[str] = Field(default_factory=list, max_length=200)


class SelfCheckData(Message):
    """What the connector's identity holds and the fixes for what it lacks."""

    kind: Literal["self_check"] = "self_check"
    ok: bool
    service_principal_id: str | None = None
    app_permissions: list[str] = Field(default_factory=list)
    directory_roles: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    can_manage_role_assignable_groups: bool = False
    checked_at: AwareDatetime | None = None
    request_ids: list[str] = Field(default_factory=list)


ResultData = Annotated[
    GrantData | RevokeData | DiscoverData | ReadMembershipData | SelfCheckData,
    Field(discriminator="kind"),
]


class JobResult(Message):
    """How a job ended (or why it should run again)."""

    outcome: Outcome
    error: JobError | None = None
    retry_after_s: float | None = Field(
        default=None, ge=0, le=3600, description="A hint (Graph's Retry-After) for `retry`."
    )
    data: ResultData | None = None
    throttled: int = Field(
        default=0, ge=0, description="Graph 429 responses met while running this job (metrics)."
    )


class ReportResult(Message):
    """The result of the job leased under ``lease_token``."""

    instance_key: str = INSTANCE_KEY
    lease_token: str
    result: JobResult


class ReportAck(Message):
    """The job's state after the report; ``duplicate`` when this lease was already reported."""

    job_id: str
    status: str
    duplicate: bool = False


# --- discovery pages ---------------------------------------------------------------------------


class DiscoveredUser(Message):
    """An Entra user."""

    type: Literal["user"] = "user"
    id: str
    user_principal_name: str | None = None
    display_name: str | None = None
    mail: str | None = None
    user_type: str | None = None
    account_enabled: bool | None = None
    manager_id: str | None = Field(
        default=None,
        description="The manager's object id, if read; an empty string: read, and none.",
    )
    group_ids: list[str] | None = Field(
        default=None,
        description="Object ids of the user's groups among the discover job's member_groups, if "
        "read (None: not read).",
    )
    membership_only: bool = Field(
        default=False,
        description="Only group_ids is meant: a member of a group of interest whom this round "
        "did not otherwise read (a delta round); its other fields are left alone.",
    )


class DiscoveredGroup(Message):
    """An Entra group with what decides whether the broker may write to it."""

    type: Literal["group"] = "group"
    id: str
    display_name: str | None = None
    description: str | None = None
    mail: str | None = None
    mail_enabled: bool = False
    security_enabled: bool = True
    group_types: list[str] = Field(default_factory=list)
    is_assignable_to_role: bool = False
    on_premises_sync_enabled: bool = False
    owners: list[str] = Field(default_factory=list)
    tags: dict[str, str | list[str]] = Field(default_factory=dict)


class DiscoveredRole(Message):
    """A directory role definition."""

    type: Literal["role"] = "role"
    id: str
    display_name: str
    template_id: str | None = None
    is_built_in: bool = True
    is_enabled: bool = True
    description: str | None = None


class DiscoveredAdministrativeUnit(Message):
    """An administrative unit (a scope for role assignments)."""

    type: Literal["administrative_unit"] = "administrative_unit"
    id: str
    display_name: str | None = None
    description: str | None = None


class RemovedObject(Message):
    """A delta tombstone."""

    type: Literal["removed"] = "removed"
    id: str
    object_type: Literal["user", "group"]
    reason: str = "deleted"


DiscoveredItem = Annotated[
    DiscoveredUser
    | DiscoveredGroup
    | DiscoveredRole
    | DiscoveredAdministrativeUnit
    | RemovedObject,
    Field(discriminator="type"),
]


class ItemsPage(Message):
    """One page of discovered items, posted before the result; re-posting a page is a no-op."""

    instance_key: str = INSTANCE_KEY
    lease_token: str
    page: int = Field(ge=0, description="0, 1, 2 … in order; the result names how many.")
    items: list[DiscoveredItem] = Field(max_length=MAX_PAGE_ITEMS)


class PageAck(Message):
    """A stored page."""

    job_id: str
    page: int
    stored: bool = Field(description="False when this page had already been stored.")


class ConnectorSelfCheck(Message):
    """A self-check run outside a job (on start): stored on the connector's record."""

    instance_key: str = INSTANCE_KEY
    result: SelfCheckData
