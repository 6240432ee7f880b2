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
   409 and changes nothing. The results of a ``$batch`` run go up together as one
   ``ReportResults`` (``POST /jobs:report``, up to ``MAX_REPORT_ITEMS`` items): the server applies
   them in one transaction, item by item, and answers a ``ReportResultsAck`` with the same
   outcome per item (``duplicate``; ``lease_lost`` instead of a 409, the other items still
   apply). Servers older than this route answer 404 to it; the agent then reports one by one;
4. on a graceful stop it releases the leases of unfinished jobs (``POST /jobs/{id}/release``).

Payloads and per-kind result data are discriminated unions on ``kind``.

The messages live in ``common`` (limits, ``Message``, enums), ``instances``, ``jobs``, ``results``
and ``discovery``; this package re-exports every one of them, so import from
``jitgate.protocol.v1``.
"""

from __future__ import annotations

from jitgate.protocol.v1.common import (
    INSTANCE_KEY,
    MAX_CLAIM,
    MAX_PAGE_ITEMS,
    MAX_REPORT_ITEMS,
    MAX_WAIT_S,
    PREFIX,
    VERSION,
    GrantMode,
    Message,
    Outcome,
    Permission,
    ResourceType,
    WriteOutcome,
)
from jitgate.protocol.v1.discovery import (
    DiscoveredAdministrativeUnit,
    DiscoveredGroup,
    DiscoveredItem,
    DiscoveredRole,
    DiscoveredUser,
    ItemsPage,
    PageAck,
    RemovedObject,
)
from jitgate.protocol.v1.instances import (
    ConnectorSelfCheck,
    Heartbeat,
    HeartbeatAck,
    LeaseRef,
    Registered,
    RegisterInstance,
)
from jitgate.protocol.v1.jobs import (
    ClaimRequest,
    ClaimResponse,
    DeleteUserPayload,
    DiscoverPayload,
    GrantPayload,
    InviteGuestPayload,
    JobKindName,
    JobPayload,
    JobSpec,
    ReadMembershipPayload,
    ReleaseRequest,
    RevokePayload,
    SelfCheckPayload,
    Target,
)
from jitgate.protocol.v1.results import (
    DeleteUserData,
    DiscoverData,
    GrantData,
    InviteGuestData,
    ItemProblem,
    JobError,
    JobResult,
    MemberRef,
    ReadMembershipData,
    ReportAck,
    ReportResult,
    ReportResults,
    ReportResultsAck,
    ResultData,
    ResultItem,
    ResultItemAck,
    RevokeData,
    SelfCheckData,
    WriteData,
)

__all__ = [
    "INSTANCE_KEY",
    "MAX_CLAIM",
    "MAX_PAGE_ITEMS",
    "MAX_REPORT_ITEMS",
    "MAX_WAIT_S",
    "PREFIX",
    "VERSION",
    "ClaimRequest",
    "ClaimResponse",
    "ConnectorSelfCheck",
    "DeleteUserData",
    "DeleteUserPayload",
    "DiscoverData",
    "DiscoverPayload",
    "DiscoveredAdministrativeUnit",
    "DiscoveredGroup",
    "DiscoveredItem",
    "DiscoveredRole",
    "DiscoveredUser",
    "GrantData",
    "GrantMode",
    "GrantPayload",
    "Heartbeat",
    "HeartbeatAck",
    "InviteGuestData",
    "InviteGuestPayload",
    "ItemProblem",
    "ItemsPage",
    "JobError",
    "JobKindName",
    "JobPayload",
    "JobResult",
    "JobSpec",
    "LeaseRef",
    "MemberRef",
    "Message",
    "Outcome",
    "PageAck",
    "Permission",
    "ReadMembershipData",
    "ReadMembershipPayload",
    "RegisterInstance",
    "Registered",
    "ReleaseRequest",
    "RemovedObject",
    "ReportAck",
    "ReportResult",
    "ReportResults",
    "ReportResultsAck",
    "ResourceType",
    "ResultData",
    "ResultItem",
    "ResultItemAck",
    "RevokeData",
    "RevokePayload",
    "SelfCheckData",
    "SelfCheckPayload",
    "Target",
    "WriteData",
    "WriteOutcome",
]
