"""Sync state: discovery delta links per integration, membership reads (and what they saw)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, UTCDateTime


class IntegrationSync(Base):
    """Where an integration's discovery stands: the delta links for the next delta run."""

    __tablename__ = "integration_sync"

    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"), primary_key=True)
    users_delta_link: Mapped[str | None] = mapped_column(Text)
    groups_delta_link: Mapped[str | None] = mapped_column(Text)
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(36))


class ResourceSync(Base):
    """Membership reads of one managed resource x permission x scope (drift, PIM expiry checks)."""

    __tablename__ = "resource_sync"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"), index=True)
    #: Group members: where the next delta read continues (``observed_member`` holds the set).
    delta_link: Mapped[str | None] = mapped_column(Text)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(36))
    #: When the ``observed_member`` snapshot was last replaced by a full round (``None``: no
    #: snapshot is kept, e.g. owners and roles, which are always read in full).
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ObservedMember(Base):
    """One holder seen by the membership reads of a resource x permission x scope.

    The snapshot the delta reads of group members apply their changes to (``grants.observed``).
    """

    __tablename__ = "observed_member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["resource_id", "permission", "scope"],
            ["resource_sync.resource_id", "resource_sync.permission", "resource_sync.scope"],
        ),
    )

    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    permission: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
