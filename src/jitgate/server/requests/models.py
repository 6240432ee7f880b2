"""Access requests, their units (resource x permission) and approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id
from jitgate.server.grants.states import EndReason
from jitgate.server.requests.states import Decision, RequestStatus


class AccessRequest(Base):
    """A request for access; the flow it was judged under is kept as a snapshot."""

    __tablename__ = "access_request"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    requester_id: Mapped[str] = mapped_column(ForeignKey("identity.id"), index=True)
    grantee_id: Mapped[str] = mapped_column(ForeignKey("identity.id"), index=True)
    flow_id: Mapped[str | None] = mapped_column(
        ForeignKey("access_flow.id", ondelete="SET NULL"), index=True
    )
    flow_name: Mapped[str] = mapped_column(String(128))
    flow_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[RequestStatus] = mapped_column(StrEnumType(RequestStatus), index=True)
    justification: Mapped[str | None] = mapped_column(Text)
    duration_min: Mapped[int | None]
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_count: Mapped[int] = mapped_column(default=0)
    end_reason: Mapped[EndReason | None] = mapped_column(StrEnumType(EndReason))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessRequestUnit(Base):
    """One resource x permission (x scope, for roles) inside a request."""

    __tablename__ = "access_request_unit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("access_request.id"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"))
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    permission: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(128), default="/")


class Approval(Base):
    """One approver's decision on a request (one per approver)."""

    __tablename__ = "approval"
    __table_args__ = (UniqueConstraint("request_id", "approver_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("access_request.id"), index=True)
    approver_id: Mapped[str] = mapped_column(ForeignKey("identity.id"))
    decision: Mapped[Decision] = mapped_column(StrEnumType(Decision))
    reason: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[int] = mapped_column(default=0)
    self_approved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
