"""Integrations (an Entra tenant reached through a connector) and their discovered resources."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id
from jitgate.protocol.v1 import GrantMode


class IntegrationStatus(StrEnum):
    """Where an integration's discovery stands."""

    INITIALIZING = "initializing"
    REFRESHING = "refreshing"
    ACTIVE = "active"
    WARNING = "warning"
    ERROR = "error"
    DISABLED = "disabled"


class MembershipMode(StrEnum):
    """Whether members no grant backs are reported (additive) or removed (authoritative)."""

    ADDITIVE = "additive"
    AUTHORITATIVE = "authoritative"


class Integration(Base):
    """An instance of an integration type, with the seed's settings. Soft-deleted."""

    __tablename__ = "integration"
    __table_args__ = (
        Index(
            "uq_integration_name_live",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    # Nulled when a connector is deleted: only soft-deleted integrations may still point at it.
    connector_id: Mapped[str | None] = mapped_column(
        ForeignKey("connector.id", ondelete="SET NULL"), index=True
    )
    resource_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[IntegrationStatus] = mapped_column(
        StrEnumType(IntegrationStatus), default=IntegrationStatus.INITIALIZING
    )
    status_message: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credential_rotation_days: Mapped[int | None]
    user_cleanup_days: Mapped[int | None]
    invite_guests: Mapped[bool] = mapped_column(default=False, server_default=false())
    invite_redirect_url: Mapped[str | None] = mapped_column(String(2048))
    custom_access_details: Mapped[str | None] = mapped_column(String(400))
    owners: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    resource_owner_key: Mapped[str | None] = mapped_column(String(128))
    resource_owner_attribute: Mapped[str | None] = mapped_column(String(64))
    grant_mode: Mapped[GrantMode] = mapped_column(StrEnumType(GrantMode), default=GrantMode.DIRECT)
    membership_mode: Mapped[MembershipMode] = mapped_column(
        StrEnumType(MembershipMode), default=MembershipMode.ADDITIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Resource(Base):
    """A discovered Entra group, directory role definition or administrative unit."""

    __tablename__ = "resource"
    __table_args__ = (UniqueConstraint("integration_id", "type", "external_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tags: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    owners: Mapped[list[str]] = mapped_column(JSONType, default=list)
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
