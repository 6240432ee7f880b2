"""Sync state: discovery delta links per integration, membership reads per resource."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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
    #: Reserved for delta reads of membership (the protocol reads full membership today).
    delta_link: Mapped[str | None] = mapped_column(Text)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(36))
