"""API shapes of grants."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from jitgate.server.grants.states import EndReason, GrantStatus


class GrantRead(BaseModel):
    """Access given to one person on one resource with one permission, for a time."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    identity_id: str
    integration_id: str
    resource_id: str
    permission: str
    scope: str
    status: GrantStatus
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    end_reason: EndReason | None
    last_error: str | None
    created_at: datetime


class StandingRead(BaseModel):
    """Access that existed without a broker grant; the broker never removes it unless told.

    In an ``authoritative`` integration only the ``allowed`` ones (the allow-list) are kept.
    """

    model_config = ConfigDict(from_attributes=True)

    id: str
    integration_id: str
    resource_id: str
    permission: str
    scope: str
    principal_id: str
    source: str
    allowed: bool
    grant_id: str | None
    recorded_at: datetime
    removed_at: datetime | None


class StandingUpdate(BaseModel):
    """Put a standing membership on the allow-list, or take it off."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"allowed": True}]})

    allowed: bool
