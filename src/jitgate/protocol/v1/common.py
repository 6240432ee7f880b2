"""Connector protocol v1, shared vocabulary: limits, the ``Message`` base and the enums."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

VERSION = "v1"
PREFIX = "/api/connector/v1"
MAX_WAIT_S = 25.0
MAX_CLAIM = 50
MAX_PAGE_ITEMS = 2000
MAX_REPORT_ITEMS = 100
INSTANCE_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
INSTANCE_KEY_WORDS = "must start with A-Z, a-z or a digit and hold only those and . _ : @ -"
INSTANCE_KEY = Field(
    min_length=1,
    max_length=128,
    pattern=INSTANCE_KEY_PATTERN,
    description="This instance's own id (host name, pod name); unique within a connector.",
    examples=["connector-7d9f-abc12"],
)


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
    """How access is given: direct Graph writes, or PIM schedules that Entra expires itself.

    ``direct``: the broker removes the access at expiry; ``pim``: Entra itself enforces the
    expiry. The one grant mode: an integration's setting (``integration.grant_mode``) and a job's.
    """

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
