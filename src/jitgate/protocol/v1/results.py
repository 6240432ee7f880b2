"""Connector protocol v1, results: how a job ended, with per-kind data (a union on ``kind``).

Reporting the same lease twice is idempotent (``ReportAck.duplicate``); a report for a lost lease
is refused with 409 and changes nothing. ``ReportResults`` carries up to ``MAX_REPORT_ITEMS``
results in one call; its ack says the same per item (``ResultItemAck.lease_lost``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from jitgate.protocol.v1.common import (
    INSTANCE_KEY,
    MAX_REPORT_ITEMS,
    Message,
    Outcome,
    WriteOutcome,
)


class JobError(Message):
    """Why a job failed or should be retried."""

    code: str = Field(max_length=128, examples=["Authorization_RequestDenied"])
    message: str = Field(max_length=4000)
    retryable: bool = False
    request_ids: list[str] = Field(default_factory=list)
    ambiguous_write: bool = Field(
        default=False,
        description="A Graph write of this job was sent and its answer lost (a read timeout, a "
        "dropped connection): Graph may still apply it later.",
    )


class WriteData(Message):
    """What a grant or revoke write did, with Graph's request ids for the audit."""

    outcome: WriteOutcome
    request_ids: list[str] = Field(default_factory=list)
    object_id: str | None = Field(
        default=None, description="A role assignment id or a PIM request id."
    )
    detail: str = ""
    ambiguous_write: bool = Field(
        default=False,
        description="A Graph write of this job was sent and its answer lost (a read timeout, a "
        "dropped connection): Graph may still apply it later.",
    )


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
    tenant_id: str | None = Field(
        default=None,
        max_length=64,
        description="The Entra tenant the items come from; pinned on the connector's record "
        "the first time it is reported, refused when it differs from the pinned one.",
    )


class MemberRef(Message):
    """One holder of a resource."""

    id: str
    kind: str = "user"
    user_principal_name: str | None = None
    assignment_id: str | None = None


class ReadMembershipData(Message):
    """Result data of a membership read."""

    kind: Literal["read_membership"] = "read_membership"
    members: list[MemberRef] = Field(
        default_factory=list,
        description="Every holder when `full`; else the members added since the delta link.",
    )
    request_ids: list[str] = Field(default_factory=list, max_length=200)
    full: bool = Field(
        default=True, description="`members` is the whole set (false: a delta round's changes)."
    )
    removed: list[MemberRef] = Field(
        default_factory=list, description="A delta round: the members removed since the link."
    )
    delta_link: str | None = Field(
        default=None, description="Group members: the link the next read continues from."
    )


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
    tenant_id: str | None = Field(
        default=None, max_length=64, description="The Entra tenant the connector reaches."
    )
    request_ids: list[str] = Field(default_factory=list)


class InviteGuestData(Message):
    """The user an invitation created, or the existing user with that mail."""

    kind: Literal["invite_guest"] = "invite_guest"
    user_id: str = Field(max_length=64, description="The guest's (or existing user's) object id.")
    created: bool = Field(
        description="True when this job's invitation created the user; false when a user with "
        "the mail already existed (it is reused and never deleted by jitgate)."
    )
    user_principal_name: str | None = Field(default=None, max_length=320)
    request_ids: list[str] = Field(default_factory=list, max_length=200)


class DeleteUserData(Message):
    """A user deletion: ``applied``, or ``already_absent`` when Graph had no such user (404)."""

    kind: Literal["delete_user"] = "delete_user"
    outcome: WriteOutcome
    request_ids: list[str] = Field(default_factory=list, max_length=200)


ResultData = Annotated[
    GrantData
    | RevokeData
    | DiscoverData
    | ReadMembershipData
    | SelfCheckData
    | InviteGuestData
    | DeleteUserData,
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


class ResultItem(Message):
    """One job's result in a batched report: the job, the lease it ran under, how it ended."""

    job_id: str
    lease_token: str
    result: JobResult


class ReportResults(Message):
    """The results of several jobs leased to this instance (a ``$batch`` run's), in one call.

    The server applies them in one transaction, each item on its own: an item whose lease was
    lost is refused (``lease_lost``) and the others still apply.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "instance_key": "connector-7d9f-abc12",
                    "items": [
                        {
                            "job_id": "5f0c2a8e-3b1d-4c7a-9e2f-6d8b1a4c7e90",
                            "lease_token": "b7e1d3c9-0a4f-4e2b-8c6d-2f9a5e1b3d70",
                            "result": {
                                "outcome": "succeeded",
                                "data": {"kind": "grant", "outcome": "applied"},
                            },
                        }
                    ],
                }
            ]
        }
    )

    instance_key: str = INSTANCE_KEY
    items: list[ResultItem] = Field(min_length=1, max_length=MAX_REPORT_ITEMS)


class ItemProblem(Message):
    """Why one item of a batched report was refused (the fields of an RFC 9457 problem)."""

    type: str = Field(examples=["https://jitgate.dev/problems/conflict"])
    title: str
    status: int = Field(description="The status the single-result route would have answered.")
    detail: str


class ResultItemAck(Message):
    """One item's outcome: the job's state after it, or why it was refused."""

    job_id: str
    status: str | None = Field(
        default=None, description="The job's state after the report; null when refused."
    )
    duplicate: bool = Field(default=False, description="This lease was already reported.")
    lease_lost: bool = Field(
        default=False,
        description="The lease is no longer the job's (reclaimed or released): the result was "
        "dropped and changed nothing.",
    )
    problem: ItemProblem | None = Field(default=None, description="Set when refused.")


class ReportResultsAck(Message):
    """One ack per item, in the order of the request's items."""

    items: list[ResultItemAck]
