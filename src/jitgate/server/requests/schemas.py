"""API shapes of access requests, their units, approvals, dry runs and access sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from jitgate.server.flows.schemas import ApprovalMode
from jitgate.server.grants.schemas import GrantRead
from jitgate.server.requests.states import Decision, RequestStatus
from jitgate.server.web.params import AwareDateTime

REASON_MAX = 500
MAX_START_AHEAD_DAYS = 365


class RequestCreate(BaseModel):
    """Ask for access: every resource x permission (x scope, for roles) becomes one unit."""

    model_config = ConfigDict(extra="forbid")

    flow_id: str | None = Field(
        default=None, description="Use this flow; omitted: the applicable flow is chosen."
    )
    grantee: str | None = Field(
        default=None,
        max_length=320,
        description="Who gets the access (id, UPN or mail); omitted: the requester.",
    )
    resource_ids: list[str] = Field(min_length=1, max_length=100)
    permissions: list[str] = Field(min_length=1, max_length=10, examples=[["member"]])
    scopes: list[str] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        max_length=20,
        description="entra-role only: `/` or `/administrativeUnits/{id}`.",
    )
    justification: str | None = Field(default=None, max_length=1000)
    duration_min: int | None = Field(
        default=None, ge=1, le=525600, description="Omitted: the flow's default duration."
    )
    starts_at: AwareDateTime | None = Field(
        default=None,
        description=(
            "A future start, ISO 8601 with a time zone offset (`Z` or `+01:00`), at most "
            f"{MAX_START_AHEAD_DAYS} days ahead; omitted: when approved."
        ),
    )


class DecisionBody(BaseModel):
    """An approver's reason (required when the flow says so)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=REASON_MAX)


class PersonRead(BaseModel):
    """A person, briefly."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    upn: str
    display_name: str


class UnitRead(BaseModel):
    """One resource x permission (x scope) of a request."""

    id: str
    integration_id: str
    integration_name: str
    resource_id: str
    resource_name: str
    resource_type: str
    permission: str
    scope: str


class ApprovalRead(BaseModel):
    """One approver's decision."""

    approver: PersonRead
    decision: Decision
    reason: str | None
    tier: int = Field(description="0: the flow's approvers; k: the k-th escalation tier.")
    created_at: datetime


class AccessDetails(BaseModel):
    """What the requester is told about using the access (the integration's custom details)."""

    integration_id: str
    integration_name: str
    custom_access_details: str | None


class ExtendOptions(BaseModel):
    """Whether and by how much the access can still be extended."""

    can_extend: bool
    remaining_extensions: int
    extension_duration_min: int | None


class AccessRequestRead(BaseModel):
    """An access request with its units, approvals, eligible approvers and grants."""

    id: str
    status: RequestStatus
    requester: PersonRead
    grantee: PersonRead
    flow_id: str | None
    flow_name: str
    justification: str | None
    duration_min: int | None
    starts_at: datetime | None
    ends_at: datetime | None = Field(description="When the access ends (the grants' end).")
    extension_count: int
    end_reason: str | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    needs_approval: bool
    approval_mode: ApprovalMode | None
    units: list[UnitRead]
    approvals: list[ApprovalRead]
    eligible_approvers: list[PersonRead] = Field(
        description="Who may decide now (pending requests; escalation tiers included once due)."
    )
    next_escalation_at: datetime | None
    grants: list[GrantRead]
    access_details: list[AccessDetails]
    extend_options: ExtendOptions


class FlowVerdict(BaseModel):
    """Why a flow does or does not apply to a request."""

    flow_id: str
    flow_name: str
    eligible: bool
    reasons: list[str]


class DryRunRead(BaseModel):
    """What would happen if the request were submitted now; nothing is written."""

    eligible: bool = Field(description="True when submitting now would succeed.")
    flow_id: str | None
    flow_name: str | None
    needs_approval: bool | None
    approvers: list[PersonRead]
    default_duration_min: int | None
    max_duration_min: int | None
    duration_min: int | None = Field(description="The duration the request would get.")
    required_fields: list[str] = Field(description="Fields the chosen flow requires.")
    problems: list[str] = Field(description="Why submitting now would fail under that flow.")
    flows_considered: list[FlowVerdict]
