"""API shapes of access flows and their nested parts (stored as JSON on ``AccessFlow``).

The nested models below are the only way a flow's JSON parts are written, so the evaluation code
in ``evaluate.py`` and ``approvers.py`` may rely on their shape.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Self
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jitgate.core.names import TEXT_NAME
from jitgate.server.flows.models import FlowTrigger

MAX_TIERS = 5
ROLE_SCOPE_PATTERN = r"^/(administrativeUnits/[0-9A-Za-z-]{1,64})?$"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


#: How much of an unknown time zone an error message repeats.
MAX_ZONE_SHOWN = 40


@cache
def _known_zones() -> frozenset[str]:
    """The IANA time zone names this installation knows (``tzdata`` ships them)."""
    return frozenset(available_timezones())


class Strict(BaseModel):
    """Input models refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class LogicalOperator(StrEnum):
    """How a list of conditions is joined."""

    AND = "AND"
    OR = "OR"


class ConditionType(StrEnum):
    """What a requestor condition looks at."""

    USER = "user"
    GROUP = "group"
    MANAGER = "manager"
    ATTRIBUTE = "attribute"


class MatchOperator(StrEnum):
    """How a condition's values are compared."""

    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"
    DOES_NOT_CONTAIN = "does_not_contain"
    STARTS_WITH = "starts_with"


class Condition(Strict):
    """One condition on a person (the requester, or a grantee)."""

    type: ConditionType = Field(
        description="`user`: UPN, mail or id; `group`: Entra group id or name; `manager`: the "
        "manager's UPN, mail or id; `attribute`: the named identity attribute."
    )
    match_operator: MatchOperator = MatchOperator.IS
    values: list[str] = Field(min_length=1, max_length=200, examples=[["adele@contoso.example"]])
    attribute: str | None = Field(
        default=None, max_length=64, description="The attribute name (type `attribute` only)."
    )

    @model_validator(mode="after")
    def _attribute_named(self) -> Self:
        if (self.type is ConditionType.ATTRIBUTE) != (self.attribute is not None):
            raise ValueError("`attribute` is required for type attribute and only for it")
        return self


class Requestors(Strict):
    """Who may use the flow: conditions joined by AND or OR (no conditions: everyone)."""

    logical_operator: LogicalOperator = LogicalOperator.OR
    conditions: list[Condition] = Field(default_factory=list, max_length=50)


class RequestScope(StrEnum):
    """For whom a request may be made."""

    SELF = "self"
    OTHERS = "others"
    DIRECT_REPORTS = "direct_reports"


class RequestFor(Strict):
    """For whom requests may be made; ``grantees`` limits the others a request may name."""

    scopes: list[RequestScope] = Field(default_factory=lambda: [RequestScope.SELF], min_length=1)
    grantees: Requestors | None = Field(
        default=None, description="Conditions a grantee other than the requester must meet."
    )


class ScopeMode(StrEnum):
    """Whether a resource scope adds or removes resources."""

    INCLUDE = "include"
    EXCLUDE = "exclude"


class ScopeType(StrEnum):
    """What a resource scope matches on."""

    NAME = "name"
    ID = "id"
    TAG = "tag"


class ResourceScope(Strict):
    """Include or exclude resources by name, id (jitgate or Entra) or tag."""

    mode: ScopeMode = ScopeMode.INCLUDE
    type: ScopeType
    key: str | None = Field(default=None, max_length=128, description="The tag key (type tag).")
    values: list[str] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _key_for_tags(self) -> Self:
        if (self.type is ScopeType.TAG) != (self.key is not None):
            raise ValueError("`key` is required for type tag and only for it")
        if self.type is not ScopeType.TAG and not self.values:
            raise ValueError("name and id scopes need at least one value")
        return self


class Target(Strict):
    """Resources of one type in one integration, and the permissions that may be requested.

    Include scopes are ORed; exclude scopes win; with no include scope every resource of the
    type is covered.
    """

    integration_id: str
    resource_type: str = Field(examples=["entra-group"])
    permissions: list[str] = Field(min_length=1, examples=[["member"]])
    scopes: list[ResourceScope] = Field(default_factory=list, max_length=50)
    role_scopes: list[str] | None = Field(
        default=None,
        description="entra-role only: the directory scopes allowed (`/` or "
        "`/administrativeUnits/{id}`); null allows any.",
    )

    @field_validator("role_scopes")
    @classmethod
    def _role_scopes(cls, value: list[str] | None) -> list[str] | None:
        for scope in value or []:
            if not re.match(ROLE_SCOPE_PATTERN, scope):
                raise ValueError(f"{scope!r} is not `/` or `/administrativeUnits/{{id}}`")
        return value


class ApproverType(StrEnum):
    """Who an approver entry names."""

    USER = "user"
    GROUP = "group"
    RESOURCE_OWNER = "resource_owner"
    INTEGRATION_OWNER = "integration_owner"
    MANAGER = "manager"


class Approver(Strict):
    """People who may approve: named users or groups, or a role relative to the request."""

    type: ApproverType
    values: list[str] = Field(
        default_factory=list, max_length=200, description="UPNs/ids (user) or groups (group)."
    )

    @model_validator(mode="after")
    def _values_needed(self) -> Self:
        named = self.type in {ApproverType.USER, ApproverType.GROUP}
        if named and not self.values:
            raise ValueError(f"approver type {self.type} needs values")
        if not named and self.values:
            raise ValueError(f"approver type {self.type} takes no values")
        return self


class ApproverGroup(Strict):
    """A set of approvers: people matching the entries (AND: all of them; OR: any of them).

    The group is satisfied once ``min_approvals`` distinct members approve (N-of-M quorum).
    """

    logical_operator: LogicalOperator = LogicalOperator.OR
    approvers: list[Approver] = Field(min_length=1, max_length=50)
    min_approvals: int = Field(default=1, ge=1, le=50)


class ApprovalMode(StrEnum):
    """Whether one approver group suffices or every group must be satisfied."""

    ANY_OF = "ANY_OF"
    ALL_OF = "ALL_OF"


class ApproverPolicy(Strict):
    """Who must approve. A flow without a policy needs no approval."""

    approval_mode: ApprovalMode = ApprovalMode.ANY_OF
    approver_groups: list[ApproverGroup] = Field(min_length=1, max_length=20)


class EscalationPolicy(Strict):
    """Tiers that may also decide once a request has waited ``interval_min`` per tier.

    After k intervals tier k unlocks; its groups (under the policy's approval mode) can then
    approve on their own. Earlier approvers keep the right to act.
    """

    interval_min: int = Field(default=30, ge=1, le=10080)
    tiers: list[list[ApproverGroup]] = Field(min_length=1, max_length=MAX_TIERS)


class Weekday(StrEnum):
    """A day of the week."""

    MON = "MON"
    TUE = "TUE"
    WED = "WED"
    THU = "THU"
    FRI = "FRI"
    SAT = "SAT"
    SUN = "SUN"


WEEKDAYS = list(Weekday)


class Timeframe(Strict):
    """When the flow may be used. An end before the start spans midnight."""

    days_of_week: list[Weekday] = Field(min_length=1, examples=[["MON", "TUE", "WED"]])
    start_time: str = Field(examples=["08:00"], description="HH:MM, in `time_zone`.")
    end_time: str = Field(examples=["18:00"], description="HH:MM, in `time_zone`.")
    time_zone: str = Field(default="UTC", examples=["Europe/Amsterdam"])

    @field_validator("start_time", "end_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("use HH:MM (24-hour)")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        # Looked up in the known names, never opened as a file: a long or odd string would
        # otherwise reach the file system (an OSError, a 500).
        if value not in _known_zones():
            shown = value if len(value) <= MAX_ZONE_SHOWN else value[:MAX_ZONE_SHOWN] + "…"
            raise ValueError(f"unknown IANA time zone {shown!r}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start_time == self.end_time:
            raise ValueError("start_time and end_time must differ")
        return self

    def start(self) -> time:
        """The start as a time."""
        return time.fromisoformat(self.start_time)

    def end(self) -> time:
        """The end as a time."""
        return time.fromisoformat(self.end_time)


class FlowSettings(Strict):
    """Per-flow rules for requesters and approvers."""

    justification_required: bool = True
    approver_reason_required: bool = False
    requester_cannot_approve_self: bool = Field(
        default=True, description="Neither the requester nor the grantee may approve."
    )
    mfa_required: bool = Field(
        default=False, description="The requester must have passed MFA within the last hour."
    )
    labels: list[Annotated[str, TEXT_NAME]] = Field(default_factory=list, max_length=20)
    max_extensions: int = Field(default=0, ge=0, le=100, description="0: no extensions.")
    extension_duration_min: int | None = Field(default=None, ge=1, le=525600)
    allow_indefinite: bool = Field(
        default=False,
        description="Allow `max_duration_min: null` (access without an end). Off by default.",
    )


TRIGGER_DESCRIPTION = (
    "`self_serve`: people request, approvers decide. `automatic`: a request under the flow is "
    "approved at once, with no approval step (creating or updating an automatic flow does not "
    "itself grant anything; the reconciler may do so later)."
)


class AccessFlowCreate(Strict):
    """A new access flow (also the body of a full update)."""

    name: Annotated[str, TEXT_NAME] = Field(
        min_length=1, max_length=128, examples=["Ops groups, 2h, manager approves"]
    )
    description: str | None = Field(default=None, max_length=2000)
    active: bool = True
    trigger: FlowTrigger = Field(default=FlowTrigger.SELF_SERVE, description=TRIGGER_DESCRIPTION)
    requestors: Requestors = Field(default_factory=Requestors)
    request_for: RequestFor = Field(default_factory=RequestFor)
    targets: list[Target] = Field(min_length=1, max_length=50)
    approver_policy: ApproverPolicy | None = Field(
        default=None, description="Null: requests need no approval."
    )
    escalation_policy: EscalationPolicy | None = None
    default_duration_min: int | None = Field(default=60, ge=1, le=525600)
    max_duration_min: int | None = Field(default=480, ge=1, le=525600)
    timeframe: Timeframe | None = Field(default=None, description="Null: always.")
    settings: FlowSettings = Field(default_factory=FlowSettings)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        s = self.settings
        if self.max_duration_min is None and not s.allow_indefinite:
            raise ValueError("max_duration_min: null (indefinite) needs settings.allow_indefinite")
        if (
            self.default_duration_min is not None
            and self.max_duration_min is not None
            and self.default_duration_min > self.max_duration_min
        ):
            raise ValueError("default_duration_min must not exceed max_duration_min")
        if self.trigger is FlowTrigger.AUTOMATIC and s.justification_required:
            raise ValueError("automatic flows cannot require a justification")
        if self.escalation_policy is not None and self.approver_policy is None:
            raise ValueError("escalation_policy needs an approver_policy")
        if s.max_extensions > 0 and s.extension_duration_min is None:
            raise ValueError("settings.extension_duration_min is required when extensions are on")
        return self


class AccessFlowRead(AccessFlowCreate):
    """An access flow as stored."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: str
    created_at: datetime
    updated_at: datetime


class AvailableFlow(BaseModel):
    """A flow the caller may request under, with what it offers."""

    id: str
    name: str
    description: str | None
    trigger: FlowTrigger
    needs_approval: bool
    request_for: RequestFor
    targets: list[Target]
    default_duration_min: int | None
    max_duration_min: int | None
    timeframe: Timeframe | None
    settings: FlowSettings


def flow_document(data: AccessFlowCreate) -> dict[str, Any]:
    """The column values of a flow: JSON-ready parts, the trigger as its enum."""
    document = data.model_dump(mode="json")
    document["trigger"] = data.trigger
    return document
