"""Access flows: who may request what, who approves, for how long.

The nested parts (requestors, targets, approver policy, escalation, time window, settings) are
JSON documents validated by the pydantic schemas in ``schemas.py`` before they are stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id


class FlowTrigger(StrEnum):
    """Self-serve flows wait for a request; automatic flows grant their grantees outright."""

    SELF_SERVE = "self_serve"
    AUTOMATIC = "automatic"


class AccessFlow(Base):
    """An access flow (policy)."""

    __tablename__ = "access_flow"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    trigger: Mapped[FlowTrigger] = mapped_column(
        StrEnumType(FlowTrigger), default=FlowTrigger.SELF_SERVE
    )
    requestors: Mapped[dict[str, Any]] = mapped_column(JSONType)
    request_for: Mapped[dict[str, Any]] = mapped_column(JSONType)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    approver_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    escalation_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    default_duration_min: Mapped[int | None]
    max_duration_min: Mapped[int | None]
    timeframe: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
