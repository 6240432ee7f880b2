"""Portal sign-in state: pending sign-ins (``portal_sign_in``) and sessions (``portal_session``).

Invariants: neither table holds a value a browser presents. A session row keeps only the
SHA-256 of its cookie's random id; a pending sign-in is found by the SHA-256 of its ``state``
and used at most once. The MSAL flow (PKCE verifier, nonce) lives here, never in a cookie.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id
from jitgate.server.actor import UserRole


class PortalSession(Base):
    """One signed-in browser: who, how they proved it, and when it ends."""

    __tablename__ = "portal_session"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[str] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[UserRole] = mapped_column(StrEnumType(UserRole))
    #: The role came from the token's ``roles`` claim (else from the identity's own role).
    role_from_claim: Mapped[bool] = mapped_column(default=False)
    amr: Mapped[list[str]] = mapped_column(JSONType, default=list)
    acrs: Mapped[list[str]] = mapped_column(JSONType, default=list)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mfa_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entra_sid: Mapped[str | None] = mapped_column(String(128))
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class PortalSignIn(Base):
    """A sign-in sent to Entra and not yet back: its MSAL flow, where to return, saved form."""

    __tablename__ = "portal_sign_in"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    flow: Mapped[dict[str, Any]] = mapped_column(JSONType)
    return_to: Mapped[str] = mapped_column(String(2048))
    step_up: Mapped[bool] = mapped_column(default=False)
    saved_form: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: The session the sign-in opened (its saved form is handed back to that session only).
    session_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
