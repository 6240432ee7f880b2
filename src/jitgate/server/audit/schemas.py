"""API shapes for audit events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    key_id: str | None = Field(
        default=None, description="The audit key that links this event (none: a legacy event)."
    )
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    """A page of events; pass ``next_after_seq`` as ``after_seq`` for the next one."""

    items: list[AuditEventRead]
    next_after_seq: int | None


class AuditVerifyCreate(BaseModel):
    """Checkpoints kept outside the database, to hold the chain against."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "checkpoints": [
                        {
                            "seq": 1200,
                            "at": "2026-12-02T10:00:00+00:00",
                            "hash": "9f2c…",
                            "legacy_seq": 0,
                            "key_id": "k3f9a1c2b7d4e",
                            "signature": "5b0e…",
                        }
                    ]
                }
            ]
        },
    )

    checkpoints: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=1000,
        description="Signed checkpoints as `GET /audit/checkpoints` or the JSON log gave them.",
    )


class AuditVerifyRead(BaseModel):
    """The result of verifying the hash chain."""

    ok: bool
    events: int
    first_bad_seq: int | None
    problem: str | None
    legacy_seq: int = Field(
        default=0, description="Events up to this seq are legacy (unkeyed sha256) events."
    )
    checkpoints: int = Field(default=0, description="How many signed checkpoints were checked.")


class AuditCheckpointRead(BaseModel):
    """A signed checkpoint: the chain's head at a time, HMAC-signed with the audit key ``key_id``.

    Keep copies outside the database; ``jitgate audit verify --checkpoint`` checks the chain
    still extends them.
    """

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "seq": 1200,
                    "at": "2026-12-02T10:00:00+00:00",
                    "hash": "9f2c" + "0" * 60,
                    "legacy_seq": 0,
                    "key_id": "k3f9a1c2b7d00",
                    "signature": "4be1" + "0" * 60,
                }
            ]
        },
    )

    seq: int
    at: datetime
    hash: str
    legacy_seq: int
    key_id: str
    signature: str


class AuditCheckpointPage(BaseModel):
    """A page of checkpoints; pass ``next_after_seq`` as ``after_seq`` for the next one."""

    items: list[AuditCheckpointRead]
    next_after_seq: int | None
