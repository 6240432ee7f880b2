"""Guest users jitgate invited (B2B) for an external grantee: the only users it may delete.

A row is written only when the connector's invitation *created* the guest. A guest that already
existed with the grantee's mail is reused without a row, so ``user_cleanup_days`` never deletes
a user jitgate did not create (docs/integrations.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, UTCDateTime
from jitgate.core.ids import new_id


class InvitedGuest(Base):
    """One guest user jitgate invited into the tenant of an integration, until it is deleted."""

    __tablename__ = "invited_guest"
    __table_args__ = (Index("ix_invited_guest_live", "deleted_at", "integration_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(ForeignKey("identity.id"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integration.id"))
    entra_user_id: Mapped[str] = mapped_column(String(64), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invite_job_id: Mapped[str | None] = mapped_column(String(36))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The open (or last) ``delete_user`` job of this guest.
    delete_job_id: Mapped[str | None] = mapped_column(String(36))
