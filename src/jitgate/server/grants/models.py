"""Grants: temporal rows, one per identity x resource x permission x scope. Never deleted.

A grant is *desired* while ``starts_at <= now < ends_at`` and it has not ended; the reconciler
turns desired grants into Graph memberships and removes them once no live grant covers them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id
from jitgate.server.requests.states import EndReason, GrantStatus


class Grant(Base):
    """Access given to one identity on one resource with one permission, for a time."""

    __tablename__ = "grant"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("access_request.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("access_request_unit.id"), unique=True)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identity.id"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    permission: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(128), default="/")
    status: Mapped[GrantStatus] = mapped_column(StrEnumType(GrantStatus), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(320))
    end_reason: Mapped[EndReason | None] = mapped_column(StrEnumType(EndReason))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
