"""Identities (Entra users and local accounts) and the API tokens tied to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jitgate.core.db import Base, JSONType, StrEnumType, UTCDateTime
from jitgate.core.ids import new_id
from jitgate.server.actor import UserRole


class Identity(Base):
    """A person: an Entra user (object id, UPN, mail, manager, groups) or a local account.

    An Entra user is keyed by ``tenant_id`` + ``object_id``: the tenant scope of the connector
    that reported it (``jitgate.server.connectors.tenancy``). A local account has no tenant
    (``None``) until discovery adopts it; UPNs stay unique across every tenant.
    """

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("tenant_id", "object_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    upn: Mapped[str] = mapped_column(String(320), unique=True)
    mail: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str] = mapped_column(String(256))
    user_type: Mapped[str] = mapped_column(String(16), default="Member")
    account_enabled: Mapped[bool] = mapped_column(default=True)
    manager_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity.id", ondelete="SET NULL"), index=True
    )
    groups: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    role: Mapped[UserRole] = mapped_column(StrEnumType(UserRole), default=UserRole.USER)
    source: Mapped[str] = mapped_column(String(16), default="local")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the API: stored as a hash, shown once, with expiry and last use."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    identity_id: Mapped[str] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
