"""Grants: temporal rows, one per identity x resource x permission x scope. Never deleted.

A grant is *desired* while ``starts_at <= now < ends_at`` and it has not ended; the reconciler
turns desired grants into Graph memberships and removes them once no live grant covers them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id
from jitgate.server.grants.states import EndReason, GrantStatus


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
    #: When Graph confirmed the access (or it was already held through another grant).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: When the grant's removal was confirmed (Graph, or no removal needed).
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


KEY_COLUMNS = ("resource_id", "permission", "scope", "principal_id")


class Membership(Base):
    """A membership the broker applied through Graph (one row per key, reused when re-applied).

    ``applied`` is the broker's knowledge: set when a grant job succeeds, cleared when a revoke
    job succeeds or a read shows the member gone. ``job_id`` names the key's one open grant,
    extend or revoke job, so the reconciler never queues a second. ``applied_ends_at`` is the
    expiry Entra was given (``pim`` mode): when a live grant ends later, the key is extended.
    """

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint(*KEY_COLUMNS),
        Index("ix_membership_applied", "applied", "integration_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"))
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    permission: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(128), default="/")
    principal_id: Mapped[str] = mapped_column(String(64))
    applied: Mapped[bool] = mapped_column(default=False)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: ``pim`` mode: the end of the PIM assignment as last written to Entra (``None``: no
    #: expiry given, e.g. direct mode, or not known for rows applied before it was recorded).
    applied_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignment_id: Mapped[str | None] = mapped_column(String(128))
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    job_kind: Mapped[str | None] = mapped_column(String(16))
    pim_fallbacks: Mapped[int] = mapped_column(default=0)
    #: A grant write of the key was sent and its answer lost: Graph may add the member until
    #: then, even after the broker removed it (``jitgate.server.reconciler.late_write``).
    late_write_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Graph refused the removal for good (e.g. ``GroupLastOwner``): the code and message, since
    #: when, and until when the reconciler leaves the key alone before trying once more
    #: (``jitgate.server.reconciler.blocked``).
    revoke_blocked_code: Mapped[str | None] = mapped_column(String(128))
    revoke_blocked_message: Mapped[str | None] = mapped_column(Text)
    revoke_blocked_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StandingMembership(Base):
    """Access that existed without a broker grant: never removed by the broker (invariant 2).

    Recorded when a grant write finds the principal ``already_present`` and no broker grant had
    applied it, or when drift finds a member nothing backs. In an authoritative integration only
    rows with ``allowed`` (the allow-list, set by an admin) are kept; the others are removed.
    """

    __tablename__ = "standing_membership"
    __table_args__ = (UniqueConstraint(*KEY_COLUMNS),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    permission: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(128), default="/")
    principal_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    allowed: Mapped[bool] = mapped_column(default=False)
    grant_id: Mapped[str | None] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
