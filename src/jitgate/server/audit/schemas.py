"""API shapes for audit events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventRead(BaseModel):
    """One audited change."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_id: str | None
    actor_name: str
    source: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    context: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    """A page of events; pass ``next_after_seq`` as ``after_seq`` for the next one."""

    items: list[AuditEventRead]
    next_after_seq: int | None


class AuditVerifyRead(BaseModel):
    """The result of verifying the hash chain."""

    ok: bool
    events: int
    first_bad_seq: int | None
    problem: str | None
