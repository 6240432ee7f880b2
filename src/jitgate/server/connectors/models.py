"""Connectors: the agents inside the customer's network, and their running instances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, UTCDateTime
from jitgate.core.ids import new_id


class Connector(Base):
    """A connector identity. Its token is stored only as a hash."""

    __tablename__ = "connector"
    # A unique index, not a constraint: SQLite adds it without rebuilding the table.
    __table_args__ = (Index("uq_connector_tenant_id", "tenant_id", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    # The Entra tenant it reaches: pinned the first time it reports one; one connector a tenant.
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    self_check: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    self_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConnectorInstance(Base):
    """One running copy of a connector (several share one connector id for HA)."""

    __tablename__ = "connector_instance"
    __table_args__ = (UniqueConstraint("connector_id", "instance_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    connector_id: Mapped[str] = mapped_column(
        ForeignKey("connector.id", ondelete="CASCADE"), index=True
    )
    instance_key: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(32))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
