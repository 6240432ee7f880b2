"""Jobs: durable units of connector work with priority, lease, attempts and last error."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id


class JobKind(StrEnum):
    """What a job asks the connector to do."""

    DISCOVER = "discover"
    GRANT = "grant"
    REVOKE = "revoke"
    READ_MEMBERSHIP = "read_membership"
    SELF_CHECK = "self_check"
    INVITE_GUEST = "invite_guest"
    DELETE_USER = "delete_user"


class JobPriority(IntEnum):
    """Lower runs first: revocations outrank grants, which outrank everything else."""

    REVOKE = 0
    GRANT = 10
    READ = 20
    DISCOVER = 30


class JobStatus(StrEnum):
    """Where a job stands."""

    QUEUED = "queued"
    LEASED = "leased"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD = "dead"


class Job(Base):
    """A durable unit of work for a connector."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claim", "connector_id", "status", "priority", "run_after"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    connector_id: Mapped[str] = mapped_column(ForeignKey("connector.id", ondelete="CASCADE"))
    integration_id: Mapped[str | None] = mapped_column(ForeignKey("integration.id"), index=True)
    kind: Mapped[JobKind] = mapped_column(StrEnumType(JobKind))
    priority: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[JobStatus] = mapped_column(StrEnumType(JobStatus), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Names the current (or last) lease; a result must quote it (a lost lease gets 409).
    lease_token: Mapped[str | None] = mapped_column(String(36))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobPage(Base):
    """One page of items a connector posted for a leased job (discovery), before its result.

    Pages are keyed by (job, lease, page number), so re-posting a page is a no-op; pages of a lost
    lease are never read, and all pages go when the job leaves its lease.
    """

    __tablename__ = "job_page"
    __table_args__ = (UniqueConstraint("job_id", "lease_token", "page"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    lease_token: Mapped[str] = mapped_column(String(36))
    page: Mapped[int]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
